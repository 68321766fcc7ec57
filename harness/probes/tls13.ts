// TLS 1.3 record decryption with an NSS key log (RFC 8446 7.1-7.3, 5.2-5.3): enough to read
// the server's application data of a captured connection. Used by the head-of-line analysis,
// which needs each plaintext byte's position in the TCP stream (AEAD keeps byte positions:
// plaintext byte i of a record is ciphertext byte i, after the 5-byte record header).
import { createDecipheriv, createHmac } from 'node:crypto';

/** cipher suite -> [hash, cipher, key bytes] */
const SUITES: Record<number, [string, string, number]> = {
  0x1301: ['sha256', 'aes-128-gcm', 16],
  0x1302: ['sha384', 'aes-256-gcm', 32],
  0x1303: ['sha256', 'chacha20-poly1305', 32],
};

export function hkdfExpandLabel(hash: string, secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`);
  const info = Buffer.concat([Buffer.from([length >> 8, length & 255, full.length]), full, Buffer.from([0])]);
  const out: Buffer[] = [];
  let prev = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    prev = createHmac(hash, secret).update(Buffer.concat([prev, info, Buffer.from([i])])).digest();
    out.push(prev);
  }
  return Buffer.concat(out).subarray(0, length);
}

/** Key log lines by client random (hex) and label. */
export function parseKeylog(text: string): Map<string, Map<string, Buffer>> {
  const m = new Map<string, Map<string, Buffer>>();
  for (const line of text.split('\n')) {
    const [label, random, secret] = line.trim().split(/\s+/);
    if (!label || !random || !secret || label.startsWith('#')) continue;
    const k = random.toLowerCase();
    if (!m.has(k)) m.set(k, new Map());
    m.get(k)!.set(label, Buffer.from(secret, 'hex'));
  }
  return m;
}

/** Decrypts one direction's records in order: handshake keys until they no longer
 *  authenticate, then the first application traffic keys (Node sends no KeyUpdate). */
export class RecordDecrypter {
  private keys: { key: Buffer; iv: Buffer; seq: bigint }[];
  private readonly cipher: string;

  constructor(suite: number, secrets: Buffer[]) {
    const s = SUITES[suite];
    if (!s) throw new Error(`TLS cipher suite 0x${suite.toString(16)} not supported by the analysis`);
    const [hash, cipher, keyLen] = s;
    this.cipher = cipher;
    this.keys = secrets.map((sec) => ({ key: hkdfExpandLabel(hash, sec, 'key', keyLen), iv: hkdfExpandLabel(hash, sec, 'iv', 12), seq: 0n }));
  }

  /** Plaintext content and inner content type of an encrypted record, or null when no key
   *  opens it. `header` is the record's 5 bytes (the AAD), `body` what follows. */
  open(header: Buffer, body: Buffer): { type: number; data: Buffer } | null {
    while (this.keys.length) {
      const k = this.keys[0]!;
      const nonce = Buffer.from(k.iv);
      const seq = Buffer.alloc(8);
      seq.writeBigUInt64BE(k.seq);
      for (let i = 0; i < 8; i++) nonce[4 + i]! ^= seq[i]!;
      try {
        const d = createDecipheriv(this.cipher as 'aes-128-gcm', k.key, nonce, { authTagLength: 16 });
        d.setAAD(header);
        d.setAuthTag(body.subarray(body.length - 16));
        const pt = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
        k.seq++;
        let end = pt.length - 1;
        while (end >= 0 && pt[end] === 0) end--;
        return { type: pt[end] ?? 0, data: pt.subarray(0, Math.max(0, end)) };
      } catch {
        // not this key: the handshake keys are done, move on to the next
        if (this.keys.length === 1) return null;
        this.keys.shift();
      }
    }
    return null;
  }
}

export { SUITES as TLS13_SUITES };
