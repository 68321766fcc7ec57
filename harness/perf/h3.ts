// HTTP/3 performance rows for `npm run perf`, measured in one run on 127.0.0.1. Servers run
// in their own processes (as in a real cell: one server process, one agent process); both
// share this machine's cores, so absolute MB/s depend on load; ratios are what matter.
//   ours vs Node http2/TLS on a 50 MB body (target ratio >= 0.5)
//   our server vs Caddy (quic-go), both fetched by our client (target >= 1.0)
//   100 x 100 KB concurrent: time, ours vs http2 (ratio = http2 time / ours; higher is better)
import http2 from 'node:http2';
import { loadavg } from 'node:os';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { startTs, waitForLine, haveCommand } from '../../proc/exec.ts';
import { h3Support } from '../../h3/binding.ts';

export interface PerfRow {
  name: string;
  ours: number | null;
  peer: number | null;
  ratio: number | null;
  unit: string;
  note: string;
}

const MB50 = 50 * 1024 * 1024;
const REPS = 5;
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGTERM');
  await new Promise<void>((r) => {
    const t = setTimeout(() => (p.kill('SIGKILL'), r()), 2000);
    p.once('exit', () => (clearTimeout(t), r()));
  });
}


/** Timers around one fetch function: `one(n)` = seconds to fetch n bytes, `many(count, n)` =
 *  seconds for count concurrent fetches of n bytes. */
function timed(get: (n: number) => Promise<void>) {
  const since = (t0: number) => (performance.now() - t0) / 1000;
  return {
    one: async (n: number) => {
      const t0 = performance.now();
      await get(n);
      return since(t0);
    },
    many: async (count: number, n: number) => {
      const t0 = performance.now();
      await Promise.all(Array.from({ length: count }, () => get(n)));
      return since(t0);
    },
  };
}

async function h3Fetcher(port: number, tls: { caPem: string; servername: string }, cc: string) {
  const { connect } = await import('../../h3/client.ts');
  const c = await connect('127.0.0.1', port, { servername: tls.servername, caPem: tls.caPem, cc });
  // Bodies are counted, not kept (as in h2Fetcher), so both sides do the same work.
  const get = (n: number) =>
    new Promise<void>((resolve, reject) => {
      let got = 0;
      c.request('GET', `/bytes/${n}`, {}, {
        data: (d) => (got += d.length),
        end: () => (got === n ? resolve() : reject(new Error(`short body ${got}`))),
        error: reject,
      });
    });
  return {
    ...timed(get),
    /** largest UDP payload our client sends (from the path MTU; our server picks the same) */
    udpPayload: c.conn.maxUdpPayload,
    /** mean size of the datagrams received so far (what the server sent) */
    meanRecvDatagram: () => {
      const st = c.conn.raw.stats();
      return st.recv ? Math.round(st.recvBytes / st.recv) : 0;
    },
    close: () => c.close(),
  };
}

async function h2Fetcher(port: number, tls: { caPem: string; servername: string }) {
  const s = http2.connect(`https://127.0.0.1:${port}`, { ca: tls.caPem, servername: tls.servername, settings: { initialWindowSize: 8 * 1024 * 1024 } });
  await new Promise<void>((resolve, reject) => (s.once('connect', () => resolve()), s.once('error', reject)));
  s.setLocalWindowSize(16 * 1024 * 1024);
  const get = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const st = s.request({ ':path': `/bytes/${n}` });
      let got = 0;
      st.on('data', (d: Buffer) => (got += d.length));
      st.on('end', () => (got === n ? resolve() : reject(new Error(`short body ${got}`))));
      st.on('error', reject);
    });
  return {
    ...timed(get),
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}

type Fetcher = Awaited<ReturnType<typeof h2Fetcher>>;

async function measure(f: Fetcher): Promise<{ mbps: number; manyS: number }> {
  // Warm-up, unmeasured and the same for every peer: handshake done, windows and cwnd open,
  // and the JIT done with the hot path. A fresh Node process moves its first 50 MB at about
  // half speed while V8 optimizes (our client: 130-150 ms CPU for the first 50 MB, 60-70 ms
  // from the fourth on), which measured compile time, not the protocol stack.
  await f.one(1_000_000);
  await f.one(MB50);
  await f.many(100, 102400);
  const rates: number[] = [];
  for (let i = 0; i < REPS; i++) rates.push(MB50 / 1e6 / (await f.one(MB50)));
  const many: number[] = [];
  for (let i = 0; i < REPS; i++) many.push(await f.many(100, 102400));
  return { mbps: median(rates), manyS: median(many) };
}

export async function h3PerfRows(opts: { cc?: string } = {}): Promise<PerfRow[]> {
  const cc = opts.cc ?? 'cubic';
  const support = h3Support();
  if (!support.ok) {
    const note = `UNSUPPORTED: ${support.reason}`;
    return ['h3 50 MB throughput vs http2', 'h3 our server vs Caddy', 'h3 100 x 100 KB vs http2'].map((name) => ({ name, ours: null, peer: null, ratio: null, unit: '', note }));
  }
  const { makeTls, startCaddy } = await import('../../peers/peers.ts');
  const tls = await makeTls();
  const procs: ChildProcess[] = [];
  const load = () => loadavg()[0]!.toFixed(1);
  try {
    const ours = startTs(here('../../peers/serve-h3.ts'), ['--key', tls.keyFile, '--cert', tls.certFile, '--cc', cc], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(ours);
    const h3Port = Number((await waitForLine(ours, /H3 READY (\d+)/))[1]);
    const h2 = startTs(here('../../peers/serve-h2.ts'), ['--key', tls.keyFile, '--cert', tls.certFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(h2);
    const h2Port = Number((await waitForLine(h2, /H2 READY (\d+)/))[1]);

    const f3 = await h3Fetcher(h3Port, tls, cc);
    const oursM = await measure(f3);
    const oursDgram = f3.meanRecvDatagram();
    await f3.close();
    await stopChild(ours);
    const f2 = await h2Fetcher(h2Port, tls);
    const h2M = await measure(f2);
    await f2.close();
    await stopChild(h2);

    let caddyMbps: number | null = null;
    let caddyNote = '';
    let caddyOk = false;
    if (await haveCommand('caddy')) {
      const caddy = await startCaddy(tls, [1_000_000, MB50, 102400]);
      try {
        const fc = await h3Fetcher(caddy.port, tls, cc);
        caddyMbps = (await measure(fc)).mbps;
        caddyNote = `Caddy's datagrams ${fc.meanRecvDatagram()} B on average, ours ${oursDgram} B`;
        await fc.close();
      } finally {
        await caddy.stop();
      }
      caddyOk = true;
    } else caddyNote = 'caddy not installed';

    // Datagram size comes from the path MTU (h3/path.ts): 16383 B (quiche's cap) on loopback.
    const common = `loopback, 2 processes, median of ${REPS} after a 50 MB + 100 x 100 KB warm-up, cc ${cc}, UDP payloads up to ${f3.udpPayload} B, load ${load()}`;
    return [
      { name: 'h3 50 MB throughput vs Node http2/TLS', ours: round(oursM.mbps, 1), peer: round(h2M.mbps, 1), ratio: round(oursM.mbps / h2M.mbps), unit: 'MB/s', note: `target ratio >= 0.5; ${common}` },
      {
        name: 'h3 our server vs Caddy (our client)',
        ours: round(oursM.mbps, 1),
        peer: caddyMbps === null ? null : round(caddyMbps, 1),
        ratio: caddyMbps === null ? null : round(oursM.mbps / caddyMbps),
        unit: 'MB/s',
        note: caddyOk ? `target ratio >= 1.0; 50 MB body; ${caddyNote}; ${common}` : caddyNote,
      },
      { name: 'h3 100 x 100 KB concurrent vs Node http2/TLS', ours: round(oursM.manyS, 3), peer: round(h2M.manyS, 3), ratio: round(h2M.manyS / oursM.manyS), unit: 's', note: `ratio = http2 time / h3 time (higher is better); ${common}` },
    ];
  } finally {
    for (const p of procs) await stopChild(p);
    await rm(tls.dir, { recursive: true, force: true });
  }
}

// `tsx harness/perf/h3.ts` prints the rows on their own.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  h3PerfRows().then((rows) => console.table(rows));
}
