// Fast UDP loss-pattern probe for fidelity runs: N sequenced datagrams at a fixed rate
// against probe.ts's echo server (same wire format: uint32 seq in the first 4 bytes).
//
// Why not probe.ts: its pacing loop spins synchronously when the interval is <= 1 ms, so
// replies pile up unread in the socket buffer and overflow it (measured: ~100% "loss" at
// 1 ms). (Its shared send buffer, which duplicated seqs under load, was fixed in 689defe.)
// Here every send yields to the event loop (setImmediate), so replies are read as
// they arrive; sends are paced against the schedule, several per turn when behind.
//
//   tsx netem/lossprobe.ts --host A --port P --count N --interval-ms I [--wait-ms W]
// prints {sent, received, lostSeqs, reordered}.
//   tsx netem/lossprobe.ts echo --host A --port P
// an echo server like probe.ts's, with larger socket buffers (prints READY).
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';

export interface LossProbeResult {
  sent: number;
  received: number;
  lostSeqs: number[];
  /** replies that arrived after a reply with a higher seq (reordering on the path) */
  reordered: number;
  /** replies that arrived before a reply with a lower seq (the packets that overtook: with
   *  one packet jumping ahead of ten, reordered counts 10 and overtook counts 1) */
  overtook?: number;
}

export async function lossProbe(o: { host: string; port: number; count: number; intervalMs: number; waitMs?: number }): Promise<LossProbeResult> {
  const got = new Uint8Array(o.count);
  let maxSeq = -1;
  let reordered = 0;
  const arrivals: number[] = [];
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  s.on('message', (msg) => {
    if (msg.length >= 4) {
      const seq = msg.readUInt32BE(0);
      if (seq < o.count && !got[seq]) {
        got[seq] = 1;
        arrivals.push(seq);
        if (seq < maxSeq) reordered++;
        else maxSeq = seq;
      }
    }
  });
  await new Promise<void>((r) => s.bind(0, () => r()));
  const t0 = performance.now();
  let seq = 0;
  // bounded: each turn sends at least one datagram once it is due; the count is finite
  while (seq < o.count) {
    const now = performance.now();
    const ahead = t0 + seq * o.intervalMs - now;
    if (ahead > 2) {
      await new Promise((r) => setTimeout(r, ahead - 1));
      continue;
    }
    for (let k = 0; k < 8 && seq < o.count && t0 + seq * o.intervalMs <= performance.now(); k++) {
      // a fresh buffer per datagram: dgram.send() reads it asynchronously (after its
      // address lookup), so reusing one buffer would send later seqs twice and others never
      const buf = Buffer.alloc(64);
      buf.writeUInt32BE(seq, 0);
      s.send(buf, o.port, o.host);
      seq++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, o.waitMs ?? 1500));
  s.close();
  const lostSeqs: number[] = [];
  got.forEach((v, i) => {
    if (!v) lostSeqs.push(i);
  });
  let overtook = 0;
  for (let i = arrivals.length - 1, minLater = Infinity; i >= 0; i--) {
    if (arrivals[i]! > minLater) overtook++;
    minLater = Math.min(minLater, arrivals[i]!);
  }
  return { sent: o.count, received: o.count - lostSeqs.length, lostSeqs, reordered, overtook };
}

/** UDP echo with the largest socket buffers the kernel allows (net.core.rmem_max caps it),
 *  so a briefly starved echo process loses fewer datagrams. */
export function bigEcho(host: string, port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
  s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, host, () => resolve(s));
  });
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      count: { type: 'string', default: '1000' },
      'interval-ms': { type: 'string', default: '1' },
      'wait-ms': { type: 'string', default: '1500' },
    },
  });
  if (positionals[0] === 'echo') {
    await bigEcho(values.host!, Number(values.port));
    process.stdout.write('READY\n');
    process.on('SIGTERM', () => process.exit(0));
    return;
  }
  const r = await lossProbe({
    host: values.host!,
    port: Number(values.port),
    count: Number(values.count),
    intervalMs: Number(values['interval-ms']),
    waitMs: Number(values['wait-ms']),
  });
  process.stdout.write(JSON.stringify(r) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
