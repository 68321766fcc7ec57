// Bulk TCP transfer for fidelity measurements: one sender pushes as fast as it can for a
// fixed time, the receiver samples its cumulative byte count every SAMPLE_MS, so the
// caller can compute goodput over a steady-state window (skipping slow start).
//
//   tsx netem/bulk.ts recv --host A --port P       (prints READY, then ACCEPT when a
//                                                   connection arrives and one JSON line when
//                                                   it finishes; runs until killed)
//   tsx netem/bulk.ts send --host A --port P --seconds S   (prints {"bytesSent": N})
//
// The receiver's line: {bytes, durationMs, samples: [[msSinceAccept, cumulativeBytes], ...]}.
import net from 'node:net';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';

const SAMPLE_MS = 100;
const CHUNK = Buffer.alloc(256 * 1024, 0x61);

export interface BulkReceipt {
  bytes: number;
  durationMs: number;
  samples: [number, number][];
}

/** What a `recv` process has reported on stdout (connections accepted, transfer receipts),
 *  and a way to wait until a condition over it holds. Attach before its first line. */
export class BulkReceiverLog {
  accepts = 0;
  readonly receipts: BulkReceipt[] = [];
  private waiters: (() => void)[] = [];

  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ACCEPT') this.accepts++;
      else if (line.startsWith('{')) this.receipts.push(JSON.parse(line) as BulkReceipt);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Resolve once `cond` holds (checked now and after every line); reject after `timeoutMs`. */
  until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bulk receiver: timed out waiting for ${what}`)), timeoutMs);
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }
}

/** Goodput in bit/s between fromMs and toMs after accept (interpolating between samples). */
export function goodputBps(r: BulkReceipt, fromMs: number, toMs: number): number {
  const at = (t: number): number => {
    const s = r.samples;
    if (!s.length) return 0;
    if (t <= s[0]![0]) return s[0]![1];
    for (let i = 1; i < s.length; i++) {
      if (s[i]![0] >= t) {
        const [t0, b0] = s[i - 1]!;
        const [t1, b1] = s[i]!;
        return b0 + ((b1 - b0) * (t - t0)) / Math.max(1e-9, t1 - t0);
      }
    }
    return s[s.length - 1]![1];
  };
  const end = Math.min(toMs, r.samples.at(-1)?.[0] ?? 0);
  if (end <= fromMs) return 0;
  return ((at(end) - at(fromMs)) * 8 * 1000) / (end - fromMs);
}

export function receive(host: string, port: number, onDone: (r: BulkReceipt) => void, onAccept?: () => void): Promise<net.Server> {
  const server = net.createServer((sock) => {
    const t0 = performance.now();
    onAccept?.();
    let bytes = 0;
    const samples: [number, number][] = [[0, 0]];
    const timer = setInterval(() => samples.push([performance.now() - t0, bytes]), SAMPLE_MS);
    sock.on('data', (d) => {
      bytes += d.length;
    });
    const finish = () => {
      clearInterval(timer);
      const durationMs = performance.now() - t0;
      samples.push([durationMs, bytes]);
      onDone({ bytes, durationMs, samples });
    };
    sock.once('end', () => {
      sock.end();
      finish();
    });
    sock.once('error', () => finish());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export function send(host: string, port: number, seconds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let stop = false;
    const sock = net.connect({ host, port, noDelay: true });
    const deadline = setTimeout(() => {
      stop = true;
      sock.end();
    }, seconds * 1000);
    const pump = () => {
      // bounded: write until the socket buffers, then wait for 'drain'
      for (let i = 0; i < 1024 && !stop; i++) {
        sent += CHUNK.length;
        if (!sock.write(CHUNK)) return;
      }
      if (!stop) setImmediate(pump);
    };
    sock.on('connect', pump);
    sock.on('drain', pump);
    sock.once('error', (e) => {
      clearTimeout(deadline);
      reject(e);
    });
    sock.once('close', () => {
      clearTimeout(deadline);
      resolve(sent);
    });
    sock.on('data', () => {});
  });
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { host: { type: 'string' }, port: { type: 'string' }, seconds: { type: 'string', default: '5' } },
  });
  const host = values.host!;
  const port = Number(values.port);
  if (positionals[0] === 'recv') {
    await receive(
      host,
      port,
      (r) => process.stdout.write(JSON.stringify(r) + '\n'),
      () => process.stdout.write('ACCEPT\n'),
    );
    process.stdout.write('READY\n');
    process.on('SIGTERM', () => process.exit(0));
  } else if (positionals[0] === 'send') {
    const bytesSent = await send(host, port, Number(values.seconds));
    process.stdout.write(JSON.stringify({ bytesSent }) + '\n');
  } else {
    process.stderr.write('usage: bulk.ts recv|send --host A --port P [--seconds S]\n');
    process.exitCode = 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) void main();
