// QUIC 1-RTT packet protection (RFC 9001 5.1-5.4) for the head-of-line analysis of Chromium's
// h3 jobs (hol-chromium.ts): tshark 4.0 does not decrypt the server's packets of a Chromium
// connection (Chromium's client connection id is zero-length; tshark matches the packets to the
// connection and then fails: "Decryption (checktag) failed"), although the key log's
// SERVER_TRAFFIC_SECRET_0 opens them. So the server's datagrams are opened here and their
// STREAM frames listed. Only what a server sends after the handshake is read: long-header
// packets (Initial, Handshake) are skipped by their Length, short-header packets (to a
// zero-length connection id) opened with the first application secret. A key update (the
// key phase bit set) is refused with a reason: the analysis would need the next keys.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { hkdfExpandLabel, TLS13_SUITES } from './tls13.ts';

export interface StreamFrame {
  /** arrival, wall ms */
  t: number;
  id: number;
  off: number;
  data: Buffer;
}

function varint(b: Buffer, at: number): [number, number] {
  if (at >= b.length) throw new Error('truncated QUIC varint');
  const len = 1 << (b[at]! >> 6);
  if (at + len > b.length) throw new Error('truncated QUIC varint');
  let v = b[at]! & 0x3f;
  for (let k = 1; k < len; k++) v = v * 256 + b[at + k]!;
  return [v, at + len];
}

/** The STREAM frames in a decrypted packet payload (every RFC 9000 frame type is walked so
 *  that the STREAM frames after it are found). */
export function streamFrames(p: Buffer, t: number): StreamFrame[] {
  const out: StreamFrame[] = [];
  let at = 0;
  const skipVarints = (n: number) => {
    for (let k = 0; k < n; k++) at = varint(p, at)[1];
  };
  while (at < p.length) {
    let ty: number;
    [ty, at] = varint(p, at);
    if (ty === 0x00 || ty === 0x01 || ty === 0x1e) continue; // PADDING, PING, HANDSHAKE_DONE
    if (ty === 0x02 || ty === 0x03) {
      // ACK: largest, delay, range count, first range, ranges, [ECN counts]
      let n: number;
      at = varint(p, at)[1];
      at = varint(p, at)[1];
      [n, at] = varint(p, at);
      skipVarints(1 + 2 * n + (ty === 0x03 ? 3 : 0));
    } else if (ty === 0x04) skipVarints(3); // RESET_STREAM
    else if (ty === 0x05) skipVarints(2); // STOP_SENDING
    else if (ty === 0x06 || ty === 0x07) {
      // CRYPTO (offset, length, data), NEW_TOKEN (length, token)
      if (ty === 0x06) skipVarints(1);
      let len: number;
      [len, at] = varint(p, at);
      at += len;
    } else if (ty >= 0x08 && ty <= 0x0f) {
      let id: number;
      let off = 0;
      let len: number;
      [id, at] = varint(p, at);
      if (ty & 0x04) [off, at] = varint(p, at);
      if (ty & 0x02) [len, at] = varint(p, at);
      else len = p.length - at;
      out.push({ t, id, off, data: p.subarray(at, at + len) });
      at += len;
    } else if (ty >= 0x10 && ty <= 0x17) skipVarints(ty === 0x11 || ty === 0x15 ? 2 : 1); // MAX_*, *_BLOCKED
    else if (ty === 0x18) {
      // NEW_CONNECTION_ID: sequence, retire prior to, length (1 byte), id, 16-byte token
      skipVarints(2);
      at += 1 + p[at]! + 16;
    } else if (ty === 0x19) skipVarints(1); // RETIRE_CONNECTION_ID
    else if (ty === 0x1a || ty === 0x1b) at += 8; // PATH_CHALLENGE, PATH_RESPONSE
    else if (ty === 0x1c || ty === 0x1d) {
      // CONNECTION_CLOSE: code, [frame type], reason length, reason
      skipVarints(ty === 0x1c ? 2 : 1);
      let len: number;
      [len, at] = varint(p, at);
      at += len;
    } else if (ty === 0x30 || ty === 0x31) {
      // DATAGRAM
      let len = p.length - at;
      if (ty === 0x31) [len, at] = varint(p, at);
      at += len;
    } else throw new Error(`unknown QUIC frame type 0x${ty.toString(16)} in a server packet`);
  }
  if (at > p.length) throw new Error('a QUIC frame runs past its packet');
  return out;
}

/** Opens the server's 1-RTT packets of one connection whose client connection id is empty. */
export class ServerPackets {
  private readonly key: Buffer;
  private readonly iv: Buffer;
  private readonly hp: Buffer;
  private readonly aead: string;
  private readonly hpCipher: string;
  private largest = -1;
  /** short-header packets that did not open although a later one did (reported by the
   *  caller: bytes of the page may be in them) */
  failed = 0;
  /** packets that did not open after the last one that did: what the server sent after the
   *  client closed (seen: one datagram answered by ICMP port unreachable, the client's
   *  socket gone) or a stateless reset; nothing the client used, so not an error */
  trailing = 0;

  constructor(suite: number, secret: Buffer) {
    const s = TLS13_SUITES[suite];
    if (!s) throw new Error(`QUIC cipher suite 0x${suite.toString(16)} not supported by the analysis`);
    const [hash, cipher, keyLen] = s;
    this.aead = cipher;
    this.hpCipher = cipher === 'chacha20-poly1305' ? 'chacha20' : keyLen === 16 ? 'aes-128-ecb' : 'aes-256-ecb';
    this.key = hkdfExpandLabel(hash, secret, 'quic key', keyLen);
    this.iv = hkdfExpandLabel(hash, secret, 'quic iv', 12);
    this.hp = hkdfExpandLabel(hash, secret, 'quic hp', keyLen);
  }

  private mask(sample: Buffer): Buffer {
    if (this.hpCipher === 'chacha20') return createCipheriv('chacha20', this.hp, sample).update(Buffer.alloc(5));
    return createCipheriv(this.hpCipher, this.hp, null).update(sample);
  }

  /** The STREAM frames of one UDP datagram from the server (coalesced packets walked). */
  datagram(d: Buffer, t: number): StreamFrame[] {
    const out: StreamFrame[] = [];
    for (let at = 0; at < d.length; ) {
      // fixed bit clear: not a QUIC v1 packet (the zeros that pad a datagram after coalesced
      // long-header packets)
      if (!(d[at]! & 0x40)) break;
      if (d[at]! & 0x80) {
        // long header: version, DCID, SCID, [Initial: token], Length (covers PN + payload)
        let q = at + 5;
        q += 1 + d[q]!;
        q += 1 + d[q]!;
        if (((d[at]! >> 4) & 3) === 0) {
          const [tl, q2] = varint(d, q);
          q = q2 + tl;
        }
        const [len, q3] = varint(d, q);
        at = q3 + len;
        continue;
      }
      out.push(...this.short(Buffer.from(d.subarray(at)), t));
      break; // a short-header packet runs to the end of the datagram
    }
    return out;
  }

  private short(p: Buffer, t: number): StreamFrame[] {
    const pnOff = 1; // zero-length destination connection id
    if (p.length < pnOff + 4 + 16) return [];
    const m = this.mask(p.subarray(pnOff + 4, pnOff + 20));
    p[0]! ^= m[0]! & 0x1f;
    if (p[0]! & 0x04) throw new Error('the server updated its QUIC keys (key phase 1): not supported by the analysis');
    const pnLen = (p[0]! & 3) + 1;
    let tr = 0;
    for (let i = 0; i < pnLen; i++) {
      p[pnOff + i]! ^= m[1 + i]!;
      tr = tr * 256 + p[pnOff + i]!;
    }
    // RFC 9000 A.3: the full packet number nearest the next expected one
    const expected = this.largest + 1;
    const win = 2 ** (8 * pnLen);
    let pn = expected - (expected % win) + tr;
    if (pn <= expected - win / 2) pn += win;
    else if (pn > expected + win / 2 && pn >= win) pn -= win;
    const nonce = Buffer.from(this.iv);
    const pnb = Buffer.alloc(8);
    pnb.writeBigUInt64BE(BigInt(pn));
    for (let i = 0; i < 8; i++) nonce[4 + i]! ^= pnb[i]!;
    const body = p.subarray(pnOff + pnLen);
    let pt: Buffer;
    try {
      const dec = createDecipheriv(this.aead as 'aes-128-gcm', this.key, nonce, { authTagLength: 16 });
      dec.setAAD(p.subarray(0, pnOff + pnLen));
      dec.setAuthTag(body.subarray(body.length - 16));
      pt = Buffer.concat([dec.update(body.subarray(0, body.length - 16)), dec.final()]);
    } catch {
      this.trailing++;
      return [];
    }
    this.failed += this.trailing;
    this.trailing = 0;
    if (pn > this.largest) this.largest = pn;
    return streamFrames(pt, t);
  }
}
