// Our own UDP RTT/loss probe. `ping` under-reports RTT when delay is applied on ingress
// (it uses the receive timestamp), so we time in user space on one clock, at both ends of
// the round trip, in the client namespace.
//
//   tsx netem/probe.ts echo  --host A --port P                        (server side; runs until killed)
//   tsx netem/probe.ts probe --host A --port P --count N --interval-ms I [--size B] [--wait-ms W]
//
// probe prints one JSON object: {sent, received, rttMs: number[] (received, in seq order),
// lostSeqs: number[]}. Each datagram carries a sequence number; replies that arrive after
// the final wait count as lost.
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';

export interface ProbeResult {
  sent: number;
  received: number;
  rttMs: number[];
  lostSeqs: number[];
}

export function echo(host: string, port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, host, () => resolve(s));
  });
}

export async function probe(o: { host: string; port: number; count: number; intervalMs: number; size?: number; waitMs?: number }): Promise<ProbeResult> {
  const size = Math.max(16, o.size ?? 64);
  const sentAt = new Float64Array(o.count);
  const rtt = new Float64Array(o.count).fill(-1);
  const s = dgram.createSocket('udp4');
  s.on('message', (msg) => {
    if (msg.length < 8) return;
    const seq = msg.readUInt32BE(0);
    if (seq < o.count && rtt[seq]! < 0) rtt[seq] = performance.now() - sentAt[seq]!;
  });
  await new Promise<void>((r) => s.bind(0, () => r()));
  const t0 = performance.now();
  for (let seq = 0; seq < o.count; seq++) {
    // pace against the schedule, not the previous send, so timer slop does not accumulate
    const due = t0 + seq * o.intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait - 0.5));
    while (performance.now() < due) {
      /* sub-ms spin to keep the send schedule even */
    }
    // a fresh buffer per datagram: send() is asynchronous, so a shared buffer could be
    // rewritten with a later sequence number before the kernel copied it
    const buf = Buffer.alloc(size);
    buf.writeUInt32BE(seq, 0);
    sentAt[seq] = performance.now();
    s.send(buf, o.port, o.host);
  }
  await new Promise((r) => setTimeout(r, o.waitMs ?? 2000));
  s.close();
  const rttMs: number[] = [];
  const lostSeqs: number[] = [];
  rtt.forEach((v, i) => (v < 0 ? lostSeqs.push(i) : rttMs.push(v)));
  return { sent: o.count, received: rttMs.length, rttMs, lostSeqs };
}

/** Mean length of runs of consecutive lost sequence numbers. */
export function meanBurst(lostSeqs: number[]): number {
  if (!lostSeqs.length) return 0;
  let bursts = 1;
  for (let i = 1; i < lostSeqs.length; i++) if (lostSeqs[i] !== lostSeqs[i - 1]! + 1) bursts++;
  return lostSeqs.length / bursts;
}

/** Nearest-rank quantile (q in [0, 1]) of values already sorted ascending: the smallest
 *  value with at least q of the sample at or below it. For the probe's own reports only
 *  (fidelity, the netem VM check). netem sits below harness and cannot import
 *  harness/metrics.ts, whose type-7 `percentile` is the definition behind every
 *  summary.csv column; do not use this one for those. */
export function nearestRankQuantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      count: { type: 'string', default: '100' },
      'interval-ms': { type: 'string', default: '10' },
      size: { type: 'string', default: '64' },
      'wait-ms': { type: 'string', default: '2000' },
    },
  });
  const host = values.host!;
  const port = Number(values.port);
  if (positionals[0] === 'echo') {
    await echo(host, port);
    process.stdout.write('READY\n');
    process.on('SIGTERM', () => process.exit(0));
  } else if (positionals[0] === 'probe') {
    const r = await probe({ host, port, count: Number(values.count), intervalMs: Number(values['interval-ms']), size: Number(values.size), waitMs: Number(values['wait-ms']) });
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    process.stderr.write('usage: probe.ts echo|probe --host A --port P [...]\n');
    process.exit(2);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
