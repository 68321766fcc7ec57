// Test fixture for h3/sse-h3.test.ts: runs createSseH3Driver inside the client namespace and
// prints what happened.
//   argv[2]: JSON SseH3Job
// stdout: "MSG <distinct seqs so far>" per arrival, "DEAD <json>" per onDead, then one
// "RESULT <json>" line; the process exits when done.
import { nowMs, type Keepalive } from '../../servers/messages.ts';
import type { OpenParams } from '../../harness/drivers/messages.ts';
import { createSseH3Driver } from '../../harness/drivers/sse-h3.ts';

export interface SseH3Job {
  host: string;
  port: number;
  caPem: string;
  servername: string;
  keepalive: Keepalive;
  requestTimeoutMs: number;
  open: OpenParams;
  /** stop once this many distinct seqs arrived (then linger lingerMs for duplicates) */
  untilCount: number;
  lingerMs?: number;
  maxMs: number;
}

export interface SseH3Result {
  /** [seq, sender stamp, receive time, bytes] in arrival order */
  messages: [number, number, number, number][];
  dead: { mechanism: string; detail: string; atMs: number }[];
  connectionsOpened: number;
  reconnects: number;
  wireBytes: { read: number; written: number } | null;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (s: string) => process.stdout.write(s + '\n');

async function main() {
  const job = JSON.parse(process.argv[2]!) as SseH3Job;
  const res: SseH3Result = { messages: [], dead: [], connectionsOpened: 0, reconnects: 0, wireBytes: null };
  try {
    const d = await createSseH3Driver({
      target: { host: job.host, port: job.port, caPem: job.caPem, servername: job.servername },
      keepalive: job.keepalive,
      requestTimeoutMs: job.requestTimeoutMs,
    });
    const seen = new Set<number>();
    let wake = () => {};
    await d.open(job.open, {
      onMessage(seq, tMs, bytes) {
        res.messages.push([seq, tMs, nowMs(), bytes]);
        seen.add(seq);
        out(`MSG ${seen.size}`);
        wake();
      },
      onDead(mechanism, detail) {
        const e = { mechanism, detail, atMs: nowMs() };
        res.dead.push(e);
        out(`DEAD ${JSON.stringify(e)}`);
      },
    });
    const end = nowMs() + job.maxMs;
    while (seen.size < job.untilCount && nowMs() < end) await new Promise<void>((r) => ((wake = r), setTimeout(r, 100)));
    await sleep(job.lingerMs ?? 0);
    res.connectionsOpened = d.connectionsOpened();
    res.reconnects = d.reconnects();
    res.wireBytes = (d as { wireBytes?: () => { read: number; written: number } }).wireBytes?.() ?? null;
    await d.close();
    await d.close(); // idempotent
  } catch (e) {
    res.error = (e as Error).message;
  }
  out(`RESULT ${JSON.stringify(res)}`);
  process.exit(0);
}

void main();
