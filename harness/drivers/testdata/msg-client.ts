// Test fixture for msg.test.ts and sse-h3.test.ts (started by fixtures.ts): runs
// one messaging driver (any protocol of harness/drivers/registry.ts) or a plain `ws` client
// inside the client namespace and prints what happened.
//   argv[2]: JSON ClientJob
// stdout: "MSG <distinct seqs so far>" per arrival, "DEAD <json>" per onDead, then one
// "RESULT <json>" line; the process exits when done.
import WebSocket from 'ws';
import { encodeMessage, decodeMessage, nowMs, type Keepalive } from '../../../contract/messages.ts';
import type { OpenParams } from '../messages.ts';
import { messageDriverFor } from '../registry.ts';

export interface ClientJob {
  /** a message protocol (ws, sse, sse-h3 ...) or 'plain-ws' (the bare ws package) */
  protocol: string;
  host: string;
  port: number;
  /** TLS protocols (sse-h2, sse-h3): the per-run CA and the name in its certificate */
  caPem?: string;
  servername?: string;
  keepalive: Keepalive;
  requestTimeoutMs: number;
  open: OpenParams;
  /** echo: send seq 1..count every intervalMs */
  echo?: { count: number; intervalMs: number };
  /** stop once this many distinct seqs arrived (then linger lingerMs for duplicates) */
  untilCount: number;
  lingerMs?: number;
  maxMs: number;
}

export interface ClientResult {
  /** [seq, sender stamp, receive time, bytes] in arrival order */
  messages: [number, number, number, number][];
  dead: { mechanism: string; detail: string; atMs: number }[];
  connectionsOpened: number;
  reconnects: number;
  wireBytes: { read: number; written: number } | null;
  openedAtMs: number;
  error?: string;
  /** plain-ws only: frames that came back different from what was sent */
  mismatches?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (s: string) => process.stdout.write(s + '\n');

async function plainWs(job: ClientJob, res: ClientResult): Promise<void> {
  // An independent client: the bare `ws` package, text and binary frames, no driver code.
  const ws = new WebSocket(`ws://${job.host}:${job.port}/ws?mode=echo`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  res.openedAtMs = nowMs();
  res.connectionsOpened = 1;
  const sent = new Map<number, { data: string | Buffer; binary: boolean }>();
  res.mismatches = 0;
  let got = 0;
  const all = new Promise<void>((resolve) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const m = decodeMessage(data);
      const s = m && sent.get(m.seq);
      if (!m || !s || s.binary !== isBinary || !Buffer.from(s.data).equals(data)) res.mismatches!++;
      if (m) res.messages.push([m.seq, m.tMs, nowMs(), m.bytes]);
      if (++got === job.untilCount) resolve();
    });
  });
  for (let seq = 1; seq <= job.untilCount; seq++) {
    const text = encodeMessage(seq, job.open.bytes);
    const binary = seq % 2 === 0;
    const data = binary ? Buffer.from(text, 'latin1') : text;
    sent.set(seq, { data, binary });
    ws.send(data, { binary });
  }
  await Promise.race([all, sleep(job.maxMs)]);
  ws.close(1000);
  await new Promise((r) => ws.once('close', r));
}

async function main() {
  const job = JSON.parse(process.argv[2]!) as ClientJob;
  const res: ClientResult = { messages: [], dead: [], connectionsOpened: 0, reconnects: 0, wireBytes: null, openedAtMs: 0 };
  try {
    if (job.protocol === 'plain-ws') {
      await plainWs(job, res);
    } else {
      const factory = await messageDriverFor(job.protocol);
      const d = await factory({ target: { host: job.host, port: job.port, caPem: job.caPem, servername: job.servername }, keepalive: job.keepalive, requestTimeoutMs: job.requestTimeoutMs });
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
        onLost() {}, // this client counts what came back, not what was given up on
      });
      res.openedAtMs = nowMs();
      const end = nowMs() + job.maxMs;
      if (job.echo) {
        for (let seq = 1; seq <= job.echo.count; seq++) {
          d.send(seq);
          await sleep(job.echo.intervalMs);
        }
      }
      while (seen.size < job.untilCount && nowMs() < end) await new Promise<void>((r) => ((wake = r), setTimeout(r, 100)));
      await sleep(job.lingerMs ?? 0);
      res.connectionsOpened = d.connectionsOpened();
      res.reconnects = d.reconnects();
      res.wireBytes = (d as { wireBytes?: () => { read: number; written: number } }).wireBytes?.() ?? null;
      await d.close();
      await d.close(); // idempotent
    }
  } catch (e) {
    res.error = (e as Error).message;
  }
  out(`RESULT ${JSON.stringify(res)}`);
  process.exit(0);
}

void main();
