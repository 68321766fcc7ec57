// The Chromium client (scenario `client: chromium`): Debian's Chromium, launched by
// playwright-core from the agent process (so it lives in the client namespace) with a fresh
// profile per job and background networking off, loads a generated page that fetch()es the
// workload's objects from the job's server, with the protocol forced:
//   http1.1: --disable-http2 --disable-quic (TLS, ALPN http/1.1; Chromium's own pool, 6 per origin)
//   h2:      --disable-quic (TLS, ALPN h2)
//   h3:      --enable-quic --origin-to-force-quic-on=HOST:PORT (QUIC straight away, no Alt-Svc)
// Chromium trusts exactly the run's certificate (--ignore-certificate-errors-spki-list with
// its SPKI hash), as the holbench drivers trust exactly it.
//
// The page: the document is made here and handed to Chromium through the DevTools Fetch
// domain, at the server's own origin (https://HOST:PORT/holbench-page.html), so the objects
// are same-origin: no CORS, and Resource Timing gives every detail (TTFB, nextHopProtocol)
// with no header from the server. Only the document's URL is intercepted; the objects go to
// the network untouched. With `html_bytes` the page first fetch()es /bytes/<html_bytes>
// (priority high) and only then the objects: the holbench client's order (workloads/page.ts).
// Objects are fetch()es with the default priority (Chromium: High, RFC 9218 "u=1, i"), all
// issued at once like the holbench client's. Not `priority: 'low'` (an image's u=3): Chromium's
// ResourceScheduler holds back such "delayable" requests (measured on h2 and h3: 6 in flight,
// the rest after those finished), a browser scheduling effect, not the protocol's. Every
// object has the same urgency either way, so the servers' `browser` scheduling treats them
// alike (round robin). <img> does not work: Chromium cancels an image whose bytes do not
// decode (measured: 1.4 kB of 100 kB read).
//
// What is recorded (same requests.csv / summary as the holbench client):
// - per object, from Resource Timing: start (startTime), TTFB (responseStart), end
//   (responseEnd), bytes (encodedBodySize), status, nextHopProtocol. An object that did not
//   use the asked-for protocol FAILS the job with that reason.
// - page time: first request start (the HTML's with html_bytes) to last object response end
//   (the holbench client's definition, harness/workloads/page.ts). Not the load event:
//   fetch() does not hold the load event.
// - per object, from DevTools Network events: the connection id, Chromium's priority
//   (initialPriority and the `priority` header it sent), and data arrivals (chunks.csv).
// - connections (connections_used): distinct connection ids in Chromium's responses (a warm
//   preconnect counts), with their TCP/TLS/QUIC handshake times from Chromium's timing. On
//   HTTP/1.1 Chromium may open a spare socket that no response uses (late binding); DevTools
//   does not report it, the server's count (server_connections) does.
//
// Connection modes: cold = a fresh profile with network prediction off (Chromium would
// otherwise preconnect to the origin at navigation), so the first object opens the connection; warm = the same fresh profile first
// loads a page that fetches the workload's smallest object on the connections a browser would
// preconnect (h2, h3: 1; HTTP/1.1: 6 at once, repeated with its largest object until Chromium
// holds 6, WARM_ROUNDS),
// then the measured page loads in the same browser and reuses them;
// resumed = the same priming as warm, then chrome.benchmarking.closeConnections() (Chromium
// started with --enable-net-benchmarking, Telemetry's switch) closes every connection while the
// TLS session cache and QUIC's cached server configs stay, so the measured page opens new
// connections that may resume (TLS ticket) and, on h3, send in 0-RTT: what a returning visit
// meets. DevTools does not say whether a handshake resumed: the holbench server's counters do
// (harness/probes/server.ts fills `resumed` and `zero_rtt`; priming handshakes subtracted).
//
// Chromium exits when the pipe to its parent closes, so it dies with the agent even on
// SIGKILL; a normal stop closes it through the agent's cleanup (proc/lifecycle.ts).
import { createHash, X509Certificate } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import type { Job, JobConnection, JobResult } from '../agent.ts';
import type { ChunkRow, RequestRow } from '../records.ts';
import type { PageWorkloadT } from '../scenario/schema.ts';
import { objectSize } from '../workloads/page.ts';
import { objectSizes } from '../extservers/objects.ts';
import { CHROMIUM_H1_CONNECTIONS, CHROMIUM_PROTOCOLS } from '../clients.ts';
import { withTimeout } from '../timeout.ts';
import { onCleanup } from '../../proc/lifecycle.ts';
import { wallOfPerf } from '../../contract/clock.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const PAGE_PATH = '/holbench-page.html';
const WARM_PATH = (round: number) => `/holbench-warm-${round}.html`;
/** Warm rounds: Chromium hands a request the first idle socket, so 6 fetches of a small
 *  object may finish on 4 connections before the other connects land (seen on a loaded
 *  machine); each further round fetches the workload's largest object on the sockets already
 *  open, which keeps them busy while the missing ones connect. Only the workload's own
 *  objects are fetched: a static external server has no others. */
const WARM_ROUNDS = 4;

/** Fresh profiles are <tmpdir>/holbench-chromium-<agent pid>-XXXXXX. */
const PROFILE_PREFIX = 'holbench-chromium-';

/** Remove the profiles of agents that are gone (a SIGKILLed agent cannot remove its own;
 *  its Chromium died with it, the pipe closed). */
async function reapProfiles(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const n of names) {
    const pid = Number(/^holbench-chromium-(\d+)-/.exec(n)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') await rm(join(tmpdir(), n), { recursive: true, force: true }).catch(() => {});
    }
  }
}

/** base64 SHA-256 of the certificate's SubjectPublicKeyInfo (Chromium's SPKI pin format). */
export function spkiHash(certPem: string): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/** Flags for every Chromium the project starts (the client, tests, report checks): no
 *  background networking and no name resolution at all except for `hosts` (IP literals):
 *  with background networking off Chromium still looked up update.googleapis.com and
 *  accounts.google.com (DNS packets in a capture of the client namespace). */
export function quietChromiumArgs(hosts: string[]): string[] {
  return [
    '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-default-apps', '--disable-domain-reliability', '--disable-client-side-phishing-detection',
    '--no-pings', '--dns-prefetch-disable',
    `--host-resolver-rules=MAP * ~NOTFOUND${hosts.map((h) => `, EXCLUDE ${h}`).join('')}`,
  ];
}

/** Chromium's command line for one job (Playwright adds its own automation defaults). */
export function chromiumArgs(protocol: string, hostPort: string, certPem: string): string[] {
  const args = [
    ...quietChromiumArgs([hostPort.replace(/:\d+$/, '')]),
    `--ignore-certificate-errors-spki-list=${spkiHash(certPem)}`,
    // chrome.benchmarking.closeConnections() in the page (Telemetry's switch): how `resumed`
    // closes the primed connections while Chromium keeps its TLS and QUIC session caches
    '--enable-net-benchmarking',
  ];
  if (protocol === 'h3') args.push('--enable-quic', `--origin-to-force-quic-on=${hostPort}`);
  else args.push('--disable-quic');
  if (protocol === 'http1.1') args.push('--disable-http2');
  return args;
}

/** The object paths of a page workload: the same URLs the holbench client requests. */
export function objectPaths(w: PageWorkloadT): { path: string; size: number }[] {
  return Array.from({ length: w.objects }, (_, i) => {
    const size = objectSize(w, i);
    return { path: `/bytes/${size}?o=${i}`, size };
  });
}

/** A page whose script fetch()es `html` first (when given; like the holbench client's HTML)
 *  and then `paths` all at once, reads every body, and resolves window.__hbDone; a failed
 *  object's reason goes to window.__hbErrors[i] (the HTML's to window.__hbErrors.html). */
export function pageHtml(paths: { path: string; size: number }[], requestTimeoutMs: number, html?: { path: string; size: number }): string {
  const script = `
performance.setResourceTimingBufferSize(${paths.length + 16});
const get = (o, priority) => fetch(o.path, { priority, cache: 'no-store', signal: AbortSignal.timeout(${requestTimeoutMs}) })
  .then((r) => { if (!r.ok) throw new Error('HTTP ' + r.status); return r.arrayBuffer(); })
  .then((b) => { if (b.byteLength !== o.size) throw new Error('got ' + b.byteLength + ' of ' + o.size + ' bytes'); });
const html = ${JSON.stringify(html ?? null)};
const objs = ${JSON.stringify(paths)};
window.__hbErrors = {};
window.__hbDone = (html ? get(html, 'high') : Promise.resolve()).then(
  () => Promise.all(objs.map((o, i) => get(o, 'auto').catch((e) => { window.__hbErrors[i] = String((e && e.message) || e); }))),
  (e) => { window.__hbErrors.html = String((e && e.message) || e); }).then(() => true);`;
  // an empty icon link: no /favicon.ico request
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>holbench</title></head><body><script>${script}</script></body></html>`;
}

interface NetRequest {
  url: string;
  initialPriority: string;
  priorityHeader?: string;
  connectionId?: string;
  protocol?: string;
  /** Chromium's connect timing of the request's connection (ms, relative to requestTimeMs) */
  timing?: { requestTimeMs: number; connectStart: number; connectEnd: number; sslStart: number; sslEnd: number };
  /** monotonic ms, bytes */
  data: [number, number][];
  warm: boolean;
}

/** DevTools Network events of the page, by request id; `monoToWall` turns Chromium's
 *  monotonic timestamps (s) into wall-clock ms. */
function watchNetwork(cdp: CDPSession, phase: { warm: boolean }) {
  const byId = new Map<string, NetRequest>();
  const clock = { offsetMs: NaN };
  // DevTools may deliver a request's ExtraInfo (the headers as sent) before or after its
  // requestWillBeSent: keep an early one until the request appears
  const earlyHeader = new Map<string, string>();
  cdp.on('Network.requestWillBeSent', (e) => {
    if (Number.isNaN(clock.offsetMs)) clock.offsetMs = e.wallTime * 1000 - e.timestamp * 1000;
    const priorityHeader = earlyHeader.get(e.requestId);
    earlyHeader.delete(e.requestId);
    byId.set(e.requestId, { url: e.request.url, initialPriority: e.request.initialPriority, data: [], warm: phase.warm, ...(priorityHeader !== undefined ? { priorityHeader } : {}) });
  });
  cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
    const r = byId.get(e.requestId);
    const p = e.headers.priority ?? e.headers.Priority;
    if (typeof p !== 'string') return;
    if (r) r.priorityHeader = p;
    else if (earlyHeader.size < 10_000) earlyHeader.set(e.requestId, p);
  });
  cdp.on('Network.responseReceived', (e) => {
    const r = byId.get(e.requestId);
    if (!r) return;
    r.connectionId = String(e.response.connectionId);
    r.protocol = e.response.protocol;
    const t = e.response.timing;
    if (t) r.timing = { requestTimeMs: t.requestTime * 1000, connectStart: t.connectStart, connectEnd: t.connectEnd, sslStart: t.sslStart, sslEnd: t.sslEnd };
  });
  cdp.on('Network.dataReceived', (e) => byId.get(e.requestId)?.data.push([e.timestamp * 1000, e.dataLength]));
  return { byId, monoToWall: (ms: number) => ms + clock.offsetMs };
}

/** Hand Chromium the generated documents (matched by path) without any network. */
async function serveDocuments(cdp: CDPSession, docs: Record<string, string>): Promise<void> {
  await cdp.send('Fetch.enable', { patterns: Object.keys(docs).map((p) => ({ urlPattern: `*${p}`, requestStage: 'Request' as const })) });
  cdp.on('Fetch.requestPaused', (e) => {
    const html = docs[new URL(e.request.url).pathname];
    const reply =
      html === undefined
        ? cdp.send('Fetch.continueRequest', { requestId: e.requestId })
        : cdp.send('Fetch.fulfillRequest', {
            requestId: e.requestId, responseCode: 200,
            responseHeaders: [{ name: 'content-type', value: 'text/html; charset=utf-8' }, { name: 'cache-control', value: 'no-store' }],
            body: Buffer.from(html).toString('base64'),
          });
    // the page went away: the job's timeout reports it
    reply.catch(() => {});
  });
}

/** Resource Timing of the loaded page (times in ms since the page's timeOrigin, an epoch ms). */
interface PageTiming {
  timeOrigin: number;
  res: { name: string; startTime: number; responseStart: number; responseEnd: number; nextHopProtocol: string; encodedBodySize: number; responseStatus: number }[];
}

/** Read in the page as a string: a function would be rewritten by the TypeScript loader
 *  (esbuild's __name helper), which the page does not have. */
const READ_TIMING = `(() => {
  const pick = (e) => ({ name: e.name, startTime: e.startTime, responseStart: e.responseStart, responseEnd: e.responseEnd,
    nextHopProtocol: e.nextHopProtocol, encodedBodySize: e.encodedBodySize, responseStatus: e.responseStatus || 0 });
  return { timeOrigin: performance.timeOrigin, res: performance.getEntriesByType('resource').map(pick) };
})()`;

async function readTiming(page: Page): Promise<PageTiming> {
  return (await page.evaluate(READ_TIMING)) as PageTiming;
}

/** Chromium's version ("Chromium 156.0.8078.108 ..."), or null when it is not installed. */
export async function chromiumVersion(): Promise<string | null> {
  const { run } = await import('../../proc/exec.ts');
  const r = await run(CHROMIUM_PATH, ['--version'], { allowFail: true, timeoutMs: 10_000 });
  return r.exitCode === 0 ? r.stdout.split('\n')[0]!.trim() || null : null;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** One page job in Chromium (the agent calls this for `client: chromium`). Never rejects. */
export async function runChromiumJob(job: Job): Promise<JobResult> {
  const w = job.workload;
  const empty = (status: JobResult['status'], reason: string): JobResult => ({ id: job.id, status, reason, connectionsOpened: 0, bytes: 0, elapsedMs: 0, requests: [], chunks: [] });
  const expected = CHROMIUM_PROTOCOLS[job.protocol.protocol];
  if (w.kind !== 'page' || !expected) return empty('UNSUPPORTED', `client chromium runs page workloads over ${Object.keys(CHROMIUM_PROTOCOLS).join(', ')}`);
  const mode = job.connection ?? 'cold';
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    return empty('UNSUPPORTED', `client chromium: ${CHROMIUM_PATH} is not installed (apt-get install chromium)`);
  }
  if (!job.target.caPem) return empty('FAILED', 'client chromium: no server certificate to trust');
  const { chromium } = await import('playwright-core');
  const hostPort = `${job.target.host}:${job.target.port}`;
  const origin = `https://${hostPort}`;
  await reapProfiles();
  const profile = await mkdtemp(join(tmpdir(), `${PROFILE_PREFIX}${process.pid}-`));
  let ctx: BrowserContext | undefined;
  const close = async () => {
    const c = ctx;
    ctx = undefined;
    await c?.close().catch(() => {});
    await rm(profile, { recursive: true, force: true }).catch(() => {});
  };
  const unregister = onCleanup(close);
  const deadline = Date.now() + job.jobTimeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  try {
    // no speculative preconnect to the page's origin at navigation (Chromium's network
    // prediction, on by default): a cold page's first object must open the connection itself
    await mkdir(join(profile, 'Default'));
    await writeFile(join(profile, 'Default', 'Preferences'), JSON.stringify({ net: { network_prediction_options: 2 } }));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH, headless: true, args: chromiumArgs(job.protocol.protocol, hostPort, job.target.caPem), timeout: Math.min(60_000, left()),
      // capture on: Chromium appends its TLS and QUIC secrets to the job's key log (NSS format)
      ...(job.target.keylogFile ? { env: { ...process.env, SSLKEYLOGFILE: job.target.keylogFile } } : {}),
    });
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const cdp = await ctx.newCDPSession(page);
    const phase = { warm: mode !== 'cold' };
    const net = watchNetwork(cdp, phase);
    await cdp.send('Network.enable');
    const paths = objectPaths(w);
    const htmlObj = w.html_bytes ? { path: `/bytes/${w.html_bytes}?o=html`, size: w.html_bytes } : undefined;
    const warmCount = job.protocol.protocol === 'http1.1' ? CHROMIUM_H1_CONNECTIONS : 1;
    const docs: Record<string, string> = { [PAGE_PATH]: pageHtml(paths, job.requestTimeoutMs, htmlObj) };
    const sizes = objectSizes(w);
    for (let round = 0; round < WARM_ROUNDS; round++) {
      const size = round === 0 ? sizes[0]! : sizes[sizes.length - 1]!;
      docs[WARM_PATH(round)] = pageHtml(Array.from({ length: warmCount }, (_, i) => ({ path: `/bytes/${size}?w=${round}.${i}`, size })), job.requestTimeoutMs);
    }
    await serveDocuments(cdp, docs);
    if (mode !== 'cold') {
      // until the browser holds warmCount connections (h2, h3: one round); resumed: the same
      // priming, then every connection closed (below)
      const warmConns = () => new Set([...net.byId.values()].filter((r) => r.warm && r.connectionId && r.connectionId !== '0').map((r) => r.connectionId)).size;
      for (let round = 0; round < WARM_ROUNDS && (round === 0 || warmConns() < warmCount); round++) {
        await page.goto(origin + WARM_PATH(round), { waitUntil: 'load', timeout: left() });
        await pageDone(page, left());
        const errs = Object.values((await page.evaluate('window.__hbErrors')) as Record<string, string>);
        if (errs.length) return { ...empty('FAILED', `connection ${mode}: ${errs[0]}`) };
      }
      if (mode === 'resumed') {
        // HttpNetworkSession::CloseAllConnections: socket pools, HTTP/2 and QUIC sessions;
        // the TLS session cache and QUIC's server configs stay, as after a closed tab
        const how = await page.evaluate('typeof chrome === "object" && chrome.benchmarking && typeof chrome.benchmarking.closeConnections');
        if (how !== 'function') return empty('UNSUPPORTED', 'client chromium: connection resumed needs chrome.benchmarking.closeConnections (--enable-net-benchmarking), which this Chromium does not offer');
        await page.evaluate('chrome.benchmarking.closeConnections()');
      }
      phase.warm = false;
    }
    // the job's clock starts here (the recorder's t0 in a holbench job)
    const t0Wall = wallOfPerf(performance.now());
    await page.goto(origin + PAGE_PATH, { waitUntil: 'load', timeout: left() });
    await pageDone(page, left());
    const errors = (await page.evaluate('window.__hbErrors')) as Record<string, string>;
    const timing = await readTiming(page);
    return buildResult(job, w, { paths, htmlObj, timing, errors, net, t0Wall, expected, mode });
  } catch (e) {
    return empty('FAILED', `client chromium: ${(e as Error).message.split('\n')[0]!}`);
  } finally {
    await close();
    unregister();
  }
}

/** The page script's completion (window.__hbDone), bounded by `ms`. */
function pageDone(page: Page, ms: number): Promise<unknown> {
  return withTimeout(page.evaluate('window.__hbDone'), ms, `page not done after ${Math.round(ms / 1000)} s`);
}

/** requests.csv rows, chunks, connections, page time and status from what the page and
 *  DevTools reported. Times go on the job clock: wall ms minus the wall time of t0. */
function buildResult(
  job: Job,
  w: PageWorkloadT,
  o: { paths: { path: string; size: number }[]; timing: PageTiming; errors: Record<string, string>; net: ReturnType<typeof watchNetwork>; t0Wall: number; expected: string; htmlObj?: { path: string; size: number }; mode: 'cold' | 'warm' | 'resumed' },
): JobResult {
  const { timing, net, t0Wall } = o;
  const onClock = (pageMs: number) => r3(timing.timeOrigin + pageMs - t0Wall);
  const base = { cell: job.cell, protocol: job.protocol.label, rep: job.rep };
  /** the DevTools record of a URL (the measured page's, not the warm page's) */
  const measured = new Map<string, NetRequest>();
  for (const r of net.byId.values()) if (!r.warm && !measured.has(r.url)) measured.set(r.url, r);
  const netOf = (url: string) => measured.get(url);
  const rows: RequestRow[] = [];
  const chunks: ChunkRow[] = [];
  const mismatches: string[] = [];
  const add = (object: number, path: string, size: number, e: { startTime: number; responseStart: number; responseEnd: number; nextHopProtocol: string; encodedBodySize: number; responseStatus: number } | undefined, error: string) => {
    const n = netOf(path);
    const req_id = rows.length;
    const conn_id = n?.connectionId ? `chromium.${n.connectionId}` : '';
    const hop = e?.nextHopProtocol || n?.protocol || '';
    if (!error && hop !== o.expected) mismatches.push(`object ${object} used ${hop || 'an unknown protocol'}, not ${o.expected}`);
    rows.push({
      ...base, req_id, object, path: path.replace(/\?.*$/, ''), conn_id, stream_id: '',
      start_ms: e ? onClock(e.startTime) : 0,
      ttfb_ms: e && e.responseStart > 0 ? r3(e.responseStart - e.startTime) : null,
      ttlb_ms: e && !error ? r3(e.responseEnd - e.startTime) : null,
      bytes: e?.encodedBodySize ?? 0, status: e?.responseStatus || null, error,
      next_hop_protocol: hop,
      priority: n ? `${n.initialPriority}${n.priorityHeader !== undefined ? ` (${n.priorityHeader})` : ''}` : '',
    });
    let cum = 0;
    for (const [monoMs, bytes] of n?.data ?? []) {
      cum += bytes;
      chunks.push({ ...base, req_id, conn_id, stream_id: '', t_ms: r3(net.monoToWall(monoMs) - t0Wall), bytes, cum_bytes: cum });
    }
  };
  const origin = `https://${job.target.host}:${job.target.port}`;
  if (o.htmlObj) {
    const url = new URL(o.htmlObj.path, origin).href;
    const e = timing.res.find((r) => r.name === url);
    add(-1, url, o.htmlObj.size, e, o.errors.html ?? (e ? '' : 'no Resource Timing entry'));
  }
  o.paths.forEach((p, i) => {
    const url = new URL(p.path, origin).href;
    const e = timing.res.find((r) => r.name === url);
    add(i, url, p.size, e, o.errors[i] ?? (e ? '' : 'no Resource Timing entry'));
  });
  for (const r of rows) r.path = r.path.replace(origin, '');
  chunks.sort((a, b) => a.t_ms - b.t_ms);
  const failed = rows.filter((r) => r.error).length;
  const ok = rows.filter((r) => !r.error && r.ttlb_ms !== null);
  const pageMs = failed || !ok.length ? null : r3(Math.max(...ok.map((r) => r.start_ms + r.ttlb_ms!)) - Math.min(...ok.map((r) => r.start_ms)));
  const all = connectionsOf(net, job.protocol.protocol, t0Wall);
  // resumed: the priming connections were closed before the page; the page's own are new
  const primed = o.mode === 'resumed' ? all.filter((c) => c.preconnected) : [];
  const connections = o.mode === 'resumed' ? all.filter((c) => !c.preconnected) : all;
  const reused = o.mode === 'resumed' ? new Set(rows.filter((r) => primed.some((c) => c.connId === r.conn_id)).map((r) => r.conn_id)) : new Set<string>();
  const bytes = rows.reduce((a, r) => a + r.bytes, 0);
  const status = failed || mismatches.length || reused.size ? 'FAILED' : 'SUCCEEDED';
  const reason = failed
    ? `${failed} of ${rows.length} objects failed: ${rows.find((r) => r.error)!.error}`
    : mismatches.length
      ? `protocol mismatch (Resource Timing nextHopProtocol): ${mismatches.length} of ${rows.length} objects; ${mismatches[0]}`
      : reused.size
        ? `connection resumed: Chromium kept ${[...reused].join(', ')} open through closeConnections()`
        : '';
  return {
    id: job.id, status, reason, connectionsOpened: connections.length, bytes, elapsedMs: pageMs ?? 0,
    ...(o.mode === 'resumed' ? { primedConnections: primed.length } : {}),
    page: { pageMs: status === 'SUCCEEDED' ? pageMs : null, objects: w.objects, failed },
    requests: rows, chunks, connections, t0WallMs: t0Wall,
  };
}

/** The connections Chromium used for our origin (distinct connection ids in its responses,
 *  warm ones included), with the handshake timing of the first request that opened each. */
function connectionsOf(net: ReturnType<typeof watchNetwork>, protocol: string, t0Wall: number): JobConnection[] {
  const byConn = new Map<string, NetRequest[]>();
  for (const r of net.byId.values()) {
    if (!r.connectionId || r.connectionId === '0') continue;
    byConn.set(r.connectionId, [...(byConn.get(r.connectionId) ?? []), r]);
  }
  const tcp = protocol !== 'h3';
  return [...byConn].map(([id, reqs]) => {
    // the request that waited for the connection's setup carries its timing (on h3 not
    // always the first one sent)
    const opener = reqs.find((r) => r.timing && r.timing.connectStart >= 0 && r.timing.connectEnd > r.timing.connectStart);
    const t = opener?.timing;
    // no request waited for it (Chromium opened it for a request that an idle socket then
    // took): it was open by the first request it carried, the closest bound DevTools gives
    const firstUse = Math.min(...reqs.map((r) => r.timing?.requestTimeMs ?? Infinity));
    const startMono = t ? t.requestTimeMs + t.connectStart : firstUse;
    return {
      connId: `chromium.${id}`,
      startMs: Number.isFinite(startMono) ? r3(net.monoToWall(startMono) - t0Wall) : 0,
      preconnected: reqs[0]!.warm,
      tcpConnectMs: t && tcp && t.sslStart >= 0 ? r3(t.sslStart - t.connectStart) : null,
      tlsHandshakeMs: t && tcp && t.sslStart >= 0 ? r3(t.sslEnd - t.sslStart) : null,
      quicHandshakeMs: t && !tcp ? r3(t.connectEnd - t.connectStart) : null,
      resumed: null,
      zeroRtt: null,
    };
  });
}

/** playwright-core's version (it drives Chromium over DevTools). */
export function playwrightVersion(): string | null {
  try {
    return (createRequire(import.meta.url)('playwright-core/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}

/** The versions a Chromium run records in run.json. */
export async function chromiumVersions(): Promise<Record<string, string | null>> {
  return { chromium: await chromiumVersion(), 'playwright-core': playwrightVersion() };
}
