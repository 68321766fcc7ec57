// Readiness probe of an external server, run inside the server namespace (the runner lives
// in the root namespace): GET `path` with the holbench driver of `protocol` until it
// answers 2xx or the deadline passes. Exit 0 = ready; otherwise exit 1 and the last problem
// on stdout. Bounded: one attempt at a time, each with a request timeout, until the deadline.
import { driverFor } from '../drivers/registry.ts';
import type { ProtocolName } from '../protocols.ts';
import type { RequestHandle } from '../records.ts';
import { isMain } from '../../proc/channel.ts';
import { withTimeout } from '../timeout.ts';

export interface ReadyProbe {
  host: string;
  port: number;
  protocol: ProtocolName;
  tls: boolean;
  caPem: string;
  servername: string;
  path: string;
  /** absolute time (Date.now()) after which it gives up */
  deadlineMs: number;
}

export const READY_MAIN = new URL('./ready.ts', import.meta.url).pathname;

async function attempt(p: ReadyProbe): Promise<string | null> {
  const factory = await driverFor(p.protocol);
  const driver = await factory({ target: { host: p.host, port: p.port, tls: p.tls, caPem: p.caPem, servername: p.servername }, connections: 1, requestTimeoutMs: 2000 });
  let status = 0;
  let error = '';
  const h: RequestHandle = { reqId: 0, headers: (s) => (status = s), data: () => {}, end: () => {}, fail: (e) => (error = String((e as Error)?.message ?? e)) };
  try {
    await driver.get(p.path, h);
  } finally {
    await Promise.race([driver.close(), new Promise((r) => setTimeout(r, 1000))]);
  }
  if (error) return error.split('\n')[0]!;
  return status >= 200 && status < 300 ? null : `GET ${p.path} answered ${status}`;
}

async function main(): Promise<number> {
  const p = JSON.parse(process.env.HOLBENCH_READY_PROBE ?? '{}') as ReadyProbe;
  const end = p.deadlineMs;
  let last = 'no attempt';
  while (Date.now() < end) {
    try {
      // a hard cap per attempt: a driver that hangs must not outlive the deadline
      const problem = await withTimeout(attempt(p), 5000, 'no answer within 5 s');
      if (!problem) return 0;
      last = problem;
    } catch (e) {
      last = (e as Error).message.split('\n')[0]!;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write(`${last}\n`);
  return 1;
}

if (isMain(import.meta.url)) void main().then((c) => process.exit(c), (e) => (process.stdout.write(`${(e as Error).message}\n`), process.exit(1)));
