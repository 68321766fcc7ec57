// Synthetic results directories for tests and demos, in the exact file formats a real run
// writes. writeSyntheticResults: a crude but plausible model of http1.1x6, h2 and h3 page
// loads over a lossy path (requests.csv, chunks.csv, summary.csv, drops.csv, run.json);
// writeSyntheticMessagesResults (at the end): a messages workload with an outage cell.
// Model: TCP/TLS handshake 2 RTT (QUIC 1 RTT), slow start doubling from 10 packets per
// RTT, 16 KB chunks shared round-robin among 3 streams at a time (h2, h3) or one object per connection (h1.1x6).
// A loss holds back the whole TCP connection for ~1 RTT (15%: an RTO of 200 ms + RTT);
// in QUIC only the stream whose data was lost waits.
// Paired repetitions, as the runner does them: every job gets the seed jobSeed(scenario
// seed, cell, rep) (summary.csv seed), and with pairing 'exact' the loss decisions (which
// chunk is lost, how long the recovery takes) come from a PRNG seeded with it, so every
// protocol of repetition r meets the same k-th-chunk losses; with 'inexact' or 'none' they
// come from the one stream that runs on across jobs, as before paired repetitions.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { ChunkRow, RequestRow } from '../records.ts';
import { completionSpreadMs, mulberry32, percentile, stallAnalysis } from '../metrics.ts';
import { jobSeed } from '../../netem/seed.ts';

/** run.json `pairing` of a synthetic run: 'exact' (helper: seeded PRNG), 'inexact' (seeds
 *  recorded, backend could not reseed: tc without a seed option), 'none' (a run from before
 *  paired repetitions: no seed column values, no pairing record). */
export type SyntheticPairing = 'exact' | 'inexact' | 'none';

function pairingRecord(p: SyntheticPairing): Record<string, unknown> {
  if (p === 'none') return {};
  const note = p === 'exact' ? 'helper: seeded per-direction PRNG, reseeded before every job' : 'netem: this tc has no seed option; the kernel PRNG runs on';
  return { pairing: { exact: p === 'exact', note, seed_of: 'jobSeed(scenario seed, cell id, rep), netem/seed.ts' } };
}

export interface SyntheticOptions {
  protocols?: string[];
  lossPcts?: number[];
  rttMs?: number[];
  rateMbps?: number | null;
  reps?: number;
  objects?: number;
  seed?: number;
  /** also add load-workload summary rows (latency percentiles) in their own cells */
  load?: boolean;
  /** write drops.csv */
  drops?: boolean;
  /** paired repetitions (default 'exact'), see SyntheticPairing */
  pairing?: SyntheticPairing;
  /** write a handshake_ms column (the model's handshake: 2 RTT over TCP + TLS, 1 RTT QUIC) */
  handshakeColumn?: boolean;
}

interface Sim {
  requests: RequestRow[];
  chunks: ChunkRow[];
  drops: { t_ms: number; direction: string; cause: string; proto: string }[];
  connections: number;
  /** the model's handshake time inside the page clock, ms */
  handshakeMs: number;
}

const CHUNK = 16384;
const MSS = 1460;

/** `lossRnd` draws the loss decisions and recovery times, `rnd` everything else. */
function simulate(protocol: string, sizes: number[], rttMs: number, rateBps: number, lossPct: number, rnd: () => number, lossRnd: () => number, ids: { cell: string; rep: number }): Sim {
  const rateBpms = rateBps / 8 / 1000; // bytes per ms
  const pChunk = 1 - (1 - lossPct / 100) ** Math.ceil(CHUNK / MSS);
  const tcp = protocol !== 'h3';
  const multiplexed = protocol === 'h2' || protocol === 'h3';
  const nConns = multiplexed ? 1 : protocol === 'http1.1x6' ? 6 : 1;
  const start = 1 + rnd();
  const hs = (tcp ? 2 : 1) * rttMs;
  const requests: RequestRow[] = sizes.map((bytes, i) => ({
    ...ids, protocol, req_id: i + 1, object: i, path: `/obj/${i}`, conn_id: '', stream_id: '', start_ms: start + i * 0.05,
    ttfb_ms: null, ttlb_ms: null, bytes, status: null, error: '',
  }));
  const chunks: ChunkRow[] = [];
  const drops: Sim['drops'] = [];
  const stall = () => (lossRnd() < 0.15 ? 200 + rttMs : rttMs * (1 + 0.3 * lossRnd()));
  const slowStartRate = (tau: number, share: number) => Math.min(rateBpms * share, (10 * MSS * 2 ** (tau / Math.max(rttMs, 1))) / Math.max(rttMs, 1));

  // each connection serves a queue of objects; multiplexed = one connection, all objects at once
  const queues: number[][] = Array.from({ length: nConns }, () => []);
  if (multiplexed) queues[0] = sizes.map((_, i) => i);
  let next = 0;
  const connFree = Array.from({ length: nConns }, () => start + hs);
  const connReady = [...connFree];
  if (!multiplexed) {
    // HTTP/1.1: a free connection takes the next object (approximate by predicted finish)
    const est = sizes.map((s) => rttMs + s / (rateBpms / nConns));
    const free = [...connFree];
    for (; next < sizes.length; next++) {
      const c = free.indexOf(Math.min(...free));
      queues[c]!.push(next);
      free[c]! += est[next]!;
    }
  }
  for (let c = 0; c < nConns; c++) {
    const share = 1 / nConns;
    let ts = connFree[c]!; // sender clock
    let release = 0; // TCP: nothing is delivered before this
    const streamRelease = new Map<number, number>();
    const left = new Map<number, number>();
    const cum = new Map<number, number>();
    const pending = [...queues[c]!];
    let active: number[] = [];
    const startNext = () => {
      const i = pending.shift();
      if (i === undefined) return;
      const r = requests[i]!;
      r.conn_id = String(c + 1);
      r.stream_id = multiplexed ? String(tcp ? 1 + 2 * i : 4 * i) : '';
      ts = Math.max(ts, multiplexed ? ts : ts) + (multiplexed ? 0 : rttMs); // h1: one RTT per request
      left.set(i, sizes[i]!);
      cum.set(i, 0);
      active.push(i);
    };
    if (multiplexed) {
      while (pending.length) startNext();
      ts += rttMs;
    } else startNext();
    let rr = 0;
    while (active.length) {
      // servers send a few streams at a time in priority order, not all 24 round-robin
      const pool = active.slice(0, 3);
      const i = pool[rr % pool.length]!;
      const n = Math.min(CHUNK, left.get(i)!);
      ts += n / slowStartRate(ts - connReady[c]!, share);
      let arrive = ts + rttMs / 2 + rnd() * 0.3;
      if (lossRnd() < pChunk) {
        const s = stall();
        drops.push({ t_ms: ts - rnd() * 2, direction: 'downlink', cause: 'loss', proto: tcp ? 'tcp' : 'udp' });
        if (tcp) release = Math.max(release, arrive + s);
        else streamRelease.set(i, Math.max(streamRelease.get(i) ?? 0, arrive + s));
        ts += 0.3 * rttMs; // congestion window cut
      }
      arrive = Math.max(arrive, release, streamRelease.get(i) ?? 0);
      const r = requests[i]!;
      if (r.ttfb_ms === null) r.ttfb_ms = arrive;
      left.set(i, left.get(i)! - n);
      cum.set(i, cum.get(i)! + n);
      chunks.push({ ...ids, protocol, req_id: r.req_id, conn_id: r.conn_id, stream_id: r.stream_id, t_ms: +arrive.toFixed(3), bytes: n, cum_bytes: cum.get(i)! });
      if (left.get(i)! <= 0) {
        r.ttlb_ms = arrive;
        r.status = 200;
        active = active.filter((x) => x !== i);
        if (!multiplexed) {
          ts = Math.max(ts, arrive - rttMs / 2);
          startNext();
        }
      } else rr++;
    }
  }
  // chunks arrive in time order in the real file; TCP release can reorder our model's
  chunks.sort((a, b) => a.t_ms - b.t_ms);
  for (const r of requests) {
    // ttfb/ttlb from the (possibly released-late) chunk times
    const cs = chunks.filter((x) => x.req_id === r.req_id);
    // requests.csv keeps TTFB/TTLB as durations from the request's start
    r.ttfb_ms = +(Math.min(...cs.map((x) => x.t_ms)) - r.start_ms).toFixed(3);
    r.ttlb_ms = +(Math.max(...cs.map((x) => x.t_ms)) - r.start_ms).toFixed(3);
    r.start_ms = +r.start_ms.toFixed(3);
  }
  for (let k = 0; k < Math.floor(lossPct * rnd()); k++) drops.push({ t_ms: start + rnd() * 300, direction: 'uplink', cause: 'loss', proto: tcp ? 'tcp' : 'udp' });
  return { requests, chunks, drops, connections: nConns, handshakeMs: hs };
}

/** Write a synthetic results directory into `dir` (created) and return its summary rows. */
export function writeSyntheticResults(dir: string, o: SyntheticOptions = {}): { summary: Record<string, unknown>[] } {
  const protocols = o.protocols ?? ['http1.1x6', 'h2', 'h3'];
  const losses = o.lossPcts ?? [0, 2];
  const rtts = o.rttMs ?? [50];
  const rateMbps = o.rateMbps === undefined ? 20 : o.rateMbps;
  const reps = o.reps ?? 3;
  const scenarioSeed = o.seed ?? 42;
  const pairing = o.pairing ?? 'exact';
  const rnd = mulberry32(scenarioSeed);
  const sizes = Array.from({ length: o.objects ?? 24 }, (_, i) => (i === 0 ? 18_000 : Math.round(12_000 + rnd() * 90_000)));
  const scenario = 'synthetic-hol';
  const requests: RequestRow[] = [];
  const chunks: ChunkRow[] = [];
  const drops: Record<string, unknown>[] = [];
  const summary: Record<string, unknown>[] = [];
  const cells: string[] = [];
  for (const rtt of rtts) {
    for (const loss of losses) {
      const cell = `loss_pct=${loss},delay_ms=${rtt / 2}`;
      cells.push(cell);
      for (const protocol of protocols) {
        for (let rep = 1; rep <= reps; rep++) {
          const seed = pairing === 'none' ? null : jobSeed(scenarioSeed, cell, rep);
          const lossRnd = pairing === 'exact' ? mulberry32(seed!) : rnd;
          const sim = simulate(protocol, sizes, rtt, (rateMbps ?? 1000) * 1e6, loss, rnd, lossRnd, { cell, rep });
          requests.push(...sim.requests);
          chunks.push(...sim.chunks);
          for (const d of sim.drops) drops.push({ t_ms: +d.t_ms.toFixed(3), cell, rep, protocol, direction: d.direction, cause: d.cause, proto: d.proto, src_port: 443, dst_port: 40000 + rep });
          const queueDrops = Math.floor(rnd() * 3);
          for (let k = 0; k < queueDrops; k++) drops.push({ t_ms: +(rtt * 4 + rnd() * 50).toFixed(3), cell, rep, protocol, direction: 'downlink', cause: 'queue', proto: protocol === 'h3' ? 'udp' : 'tcp', src_port: 443, dst_port: 40000 + rep });
          const st = stallAnalysis(sim.requests, sim.chunks, rtt);
          const t0 = Math.min(...sim.requests.map((r) => r.start_ms));
          const pageMs = Math.max(...sim.requests.map((r) => r.start_ms + r.ttlb_ms!)) - t0;
          const bytes = sim.requests.reduce((s, r) => s + r.bytes, 0);
          const packets = bytes / MSS;
          const lossDrops = sim.drops.filter((d) => d.cause === 'loss' && d.direction === 'downlink').length;
          summary.push({
            scenario, cell, protocol, rep, status: 'SUCCEEDED', reason: '', workload: 'page', loss_pct: loss, rtt_ms: rtt, rate_mbps: rateMbps ?? '',
            tcp_cc: 'cubic', quic_cc: 'cubic', seed: seed ?? '', page_ms: pageMs.toFixed(1), requests: sim.requests.length, errors: 0,
            ttfb_p50_ms: percentile(sim.requests.map((r) => r.ttfb_ms!), 50).toFixed(1),
            ttlb_p50_ms: percentile(sim.requests.map((r) => r.ttlb_ms!), 50).toFixed(1),
            p50_ms: '', p95_ms: '', p99_ms: '', goodput_mbps: ((bytes * 8) / pageMs / 1000).toFixed(2),
            completion_spread_ms: completionSpreadMs(sim.requests)?.toFixed(1) ?? '', connections_used: sim.connections, server_connections: sim.connections,
            retransmissions: protocol === 'h3' ? '' : lossDrops, co_stall_index: st.coStallIndex === null ? '' : st.coStallIndex.toFixed(3), hol_stall_index: st.holStallIndex === null ? '' : st.holStallIndex.toFixed(3),
            stall_ms_mean: st.stallMsMean.toFixed(1), loss_measured_pct: ((100 * lossDrops) / packets).toFixed(2), drops_loss: lossDrops, drops_queue: queueDrops,
            ...(o.handshakeColumn ? { handshake_ms: sim.handshakeMs.toFixed(1) } : {}),
          });
        }
      }
      if (o.load) {
        const lcell = `${cell},workload=load`;
        for (const protocol of protocols) {
          for (let rep = 1; rep <= reps; rep++) {
            const base = rtt * (protocol === 'http1.1x6' ? 1.3 : 1.05) + 2 * rnd();
            const tail = 1 + loss * (protocol === 'h2' ? 0.9 : protocol === 'h3' ? 0.4 : 0.6);
            summary.push({
              scenario, cell: lcell, protocol, rep, status: protocol === 'h3' && rep === 3 && loss > 0 ? 'FAILED' : 'SUCCEEDED',
              reason: protocol === 'h3' && rep === 3 && loss > 0 ? 'timeout: 12 of 2000 requests' : '', workload: 'load', loss_pct: loss, rtt_ms: rtt,
              rate_mbps: rateMbps ?? '', tcp_cc: 'cubic', quic_cc: 'cubic', seed: pairing === 'none' ? '' : jobSeed(scenarioSeed, lcell, rep), page_ms: '', requests: 2000, errors: 0, ttfb_p50_ms: '', ttlb_p50_ms: '',
              p50_ms: base.toFixed(1), p95_ms: (base * 1.4 * tail).toFixed(1), p99_ms: (base * 2.2 * tail + (loss ? 200 : 0)).toFixed(1),
              goodput_mbps: (8 + rnd()).toFixed(2), completion_spread_ms: '', connections_used: protocol === 'http1.1x6' ? 6 : 1,
              server_connections: protocol === 'http1.1x6' ? 6 : 1, retransmissions: '', co_stall_index: '', hol_stall_index: '', stall_ms_mean: '',
              loss_measured_pct: (loss * (0.9 + 0.2 * rnd())).toFixed(2), drops_loss: Math.round(loss * 40), drops_queue: 0,
              ...(o.handshakeColumn ? { handshake_ms: '' } : {}),
            });
          }
        }
      }
    }
  }
  mkdirSync(dir, { recursive: true });
  const csv = (name: string, rows: Record<string, unknown>[], columns: string[]) => writeFileSync(join(dir, name), stringify(rows, { header: true, columns }));
  csv('requests.csv', requests as unknown as Record<string, unknown>[], ['cell', 'protocol', 'rep', 'req_id', 'object', 'path', 'conn_id', 'stream_id', 'start_ms', 'ttfb_ms', 'ttlb_ms', 'bytes', 'status', 'error']);
  csv('chunks.csv', chunks as unknown as Record<string, unknown>[], ['cell', 'protocol', 'rep', 'req_id', 'conn_id', 'stream_id', 't_ms', 'bytes', 'cum_bytes']);
  csv('summary.csv', summary, Object.keys(summary[0]!));
  if (o.drops ?? true) csv('drops.csv', drops, ['t_ms', 'cell', 'rep', 'protocol', 'direction', 'cause', 'proto', 'src_port', 'dst_port']);
  const run = {
    scenario: { name: scenario, file: 'scenarios/synthetic-hol.yaml', workload: 'page', objects: sizes.length },
    backend: 'helper', kernel: '6.1.0-synthetic', tcp_cc: 'cubic', quic_cc: 'cubic',
    versions: { node: process.version, holbench: '0.1.0', undici: '7.30.2', '@matrixai/quic': '2.0.9' },
    seed: scenarioSeed, started_at: '2026-01-01T12:00:00.000Z', finished_at: '2026-01-01T12:03:20.000Z', cells,
    ...pairingRecord(pairing),
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(run, null, 2));
  return { summary };
}

export interface SyntheticMessagesOptions {
  /** push (default: ws, sse, longpoll, grpc-stream) or echo (ws, grpc-unary, grpc-bidi) */
  pattern?: 'push' | 'echo';
  protocols?: string[];
  /** one cell per loss value, without an outage */
  lossPcts?: number[];
  /** plus one cell (loss 0) with this outage; null = none */
  outage?: { fromS: number; toS: number } | null;
  rttMs?: number;
  reps?: number;
  messages?: number;
  intervalMs?: number;
  messageBytes?: number;
  durationS?: number;
  seed?: number;
  /** write messages.csv (default true) */
  messagesCsv?: boolean;
  /** paired repetitions (default 'exact'): with 'exact' the loss decisions of a job come
   *  from a PRNG seeded with its jobSeed, the same for every protocol of a repetition */
  pairing?: SyntheticPairing;
}

/** How each synthetic protocol behaves: bytes on the wire per message besides the payload
 *  (down: framing + TCP/IP/Ethernet headers, TLS record; up: ACKs, long-poll requests),
 *  extra delivery delay as a fraction of the RTT (long polling waits for the next poll),
 *  and which dead-peer mechanism fires after how long on each side (null = none: the
 *  "not detected" cases). */
const MSG_MODEL: Record<string, { down: number; up: number; pollWait: number; client: [string, number] | null; server: [string, number] | null }> = {
  ws: { down: 98, up: 52, pollWait: 0, client: ['ws-ping', 2000], server: ['ws-ping', 2050] },
  sse: { down: 120, up: 50, pollWait: 0, client: ['sse-heartbeat', 2500], server: null },
  longpoll: { down: 260, up: 180, pollWait: 1, client: ['error:ETIMEDOUT', 4200], server: null },
  'grpc-stream': { down: 112, up: 58, pollWait: 0, client: ['grpc-keepalive', 2000], server: ['grpc-keepalive', 2100] },
  'grpc-unary': { down: 230, up: 240, pollWait: 0, client: ['error:DEADLINE_EXCEEDED', 3000], server: null },
  'grpc-bidi': { down: 110, up: 118, pollWait: 0, client: ['grpc-keepalive', 2000], server: ['grpc-keepalive', 2100] },
};

/** Write a synthetic results directory of a `messages` workload (summary.csv with the
 *  messaging columns, messages.csv, empty requests/chunks/drops, run.json with cell
 *  profiles and outages). A crude model: one-way delay RTT/2 plus jitter; a lost packet
 *  holds the TCP stream back for an RTO; across the outage, a side that detects the dead
 *  peer reconnects after it ends and the server replays what was missed (resume), a side
 *  that does not waits for TCP's backed-off retransmission. Cases built in: longpoll's
 *  client misses the outage in rep 2, the sse/longpoll servers never detect it, grpc-stream
 *  loses 3 messages in rep 3, sse delivers 2 duplicates in rep 2. */
export function writeSyntheticMessagesResults(dir: string, o: SyntheticMessagesOptions = {}): { summary: Record<string, unknown>[] } {
  const pattern = o.pattern ?? 'push';
  const protocols = o.protocols ?? (pattern === 'push' ? ['ws', 'sse', 'longpoll', 'grpc-stream'] : ['ws', 'grpc-unary', 'grpc-bidi']);
  const losses = o.lossPcts ?? [0, 2];
  const outage = o.outage === undefined ? { fromS: 3, toS: 8 } : o.outage;
  const rtt = o.rttMs ?? 50;
  const reps = o.reps ?? 3;
  const count = o.messages ?? 500;
  const interval = o.intervalMs ?? 20;
  const size = o.messageBytes ?? 64;
  const durationS = o.durationS ?? 30;
  const scenarioSeed = o.seed ?? 7;
  const pairing = o.pairing ?? 'exact';
  const rnd = mulberry32(scenarioSeed);
  const scenario = 'synthetic-messages';
  const cells: { id: string; loss: number; outages: { fromS: number; toS: number; direction: string }[] }[] = losses.map((l) => ({ id: `loss_pct=${l}`, loss: l, outages: [] }));
  if (outage) cells.push({ id: `loss_pct=0,outage=${outage.fromS}-${outage.toS}s`, loss: 0, outages: [{ ...outage, direction: 'both' }] });
  const summary: Record<string, unknown>[] = [];
  const messages: Record<string, unknown>[] = [];
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  for (const cell of cells) {
    for (const protocol of protocols) {
      const m = MSG_MODEL[protocol] ?? MSG_MODEL.ws!;
      for (let rep = 1; rep <= reps; rep++) {
        const seed = pairing === 'none' ? null : jobSeed(scenarioSeed, cell.id, rep);
        const lossRnd = pairing === 'exact' ? mulberry32(seed!) : rnd;
        const out = cell.outages[0];
        const clientDet = out && m.client && !(protocol === 'longpoll' && rep === 2) ? m.client[1] + 300 * rnd() : null;
        const serverDet = out && m.server ? m.server[1] + 300 * rnd() : null;
        const lostSeqs = new Set(out && protocol === 'grpc-stream' && rep === 3 ? [201, 202, 203] : []);
        const dupSeqs = new Set(out && protocol === 'sse' && rep === 2 ? [260, 261] : []);
        // one-way for push, there and back for echo
        const oneWay = pattern === 'push' ? rtt / 2 : rtt;
        let release = 0;
        let resumeAt = 0;
        const lat: number[] = [];
        let lastRecv = 0;
        for (let seq = 1; seq <= count; seq++) {
          const sent = 5 + (seq - 1) * interval;
          let recv = sent + oneWay + rnd() * 1.5 + m.pollWait * rtt * rnd();
          if (lossRnd() < (cell.loss / 100) * 1.2) release = Math.max(release, recv + 200 + rtt);
          if (out && recv >= out.fromS * 1000 && sent < out.toS * 1000) {
            // caught by the outage: after a detection, reconnect + resume replays it; without
            // one, TCP's backed-off retransmission delivers it some time after the outage
            resumeAt ||= clientDet !== null ? Math.max(out.toS * 1000, out.fromS * 1000 + clientDet + 1000) + 2 * rtt + 300 * rnd() : out.toS * 1000 + 600 + 1800 * rnd();
            recv = Math.max(recv, resumeAt + (seq % 7) * 0.2);
          }
          recv = Math.max(recv, release);
          if (lostSeqs.has(seq)) continue;
          lat.push(recv - sent);
          lastRecv = Math.max(lastRecv, recv);
          messages.push({ cell: cell.id, protocol, rep, seq, sent_ms: r3(sent), recv_ms: r3(recv), latency_ms: r3(recv - sent), bytes: size, dup: 0 });
          if (dupSeqs.has(seq)) messages.push({ cell: cell.id, protocol, rep, seq, sent_ms: r3(sent), recv_ms: r3(recv + 40), latency_ms: r3(recv + 40 - sent), bytes: size, dup: 1 });
        }
        lat.sort((a, b) => a - b);
        const received = count - lostSeqs.size;
        const reconnects = clientDet !== null ? 1 : 0;
        const up = Math.round(received * m.up * (0.95 + 0.1 * rnd()) + 2600 + (pattern === 'echo' ? received * size : 0));
        const down = Math.round(received * (size + m.down) * (0.97 + 0.06 * rnd()) + 5200 + reconnects * 4800);
        const conns = 1 + reconnects;
        summary.push({
          scenario, cell: cell.id, protocol, rep, status: 'SUCCEEDED', reason: lostSeqs.size ? `${lostSeqs.size} of ${count} messages lost` : '', workload: 'messages',
          loss_pct: cell.loss, rtt_ms: rtt, rate_mbps: 20, tcp_cc: 'cubic', quic_cc: 'cubic', seed: seed ?? '', page_ms: '', requests: 0, errors: 0, ttfb_p50_ms: '', ttlb_p50_ms: '',
          p50_ms: '', p95_ms: '', p99_ms: '', goodput_mbps: '', completion_spread_ms: '', connections_used: conns,
          // one run where the server counts a connection the client does not (a reconnect
          // attempt the client abandoned in the handshake), so the two bars differ
          server_connections: conns + (out && protocol === 'ws' && rep === 1 ? 1 : 0), retransmissions: Math.round(cell.loss * 6 + (out ? 12 : 0)),
          co_stall_index: '', hol_stall_index: '', stall_ms_mean: '', loss_measured_pct: cell.loss ? (cell.loss * (0.9 + 0.2 * rnd())).toFixed(2) : 0, drops_loss: Math.round(cell.loss * 10), drops_queue: 0,
          wire_bytes_up: up, wire_bytes_down: down, msgs_sent: count, msgs_received: received, msgs_lost: lostSeqs.size, msgs_dup: dupSeqs.size,
          msg_p50_ms: r3(percentile(lat, 50)), msg_p99_ms: r3(percentile(lat, 99)), msgs_per_s: r3(received / ((lastRecv - 5) / 1000)),
          wire_bytes_per_msg: r3((up + down) / received), payload_bytes_per_msg: r3((up + down) / received - 2 * 66), reconnects,
          detect_ms_client: clientDet === null ? '' : clientDet.toFixed(1), detect_mech_client: clientDet === null ? '' : m.client![0],
          detect_ms_server: serverDet === null ? '' : serverDet.toFixed(1), detect_mech_server: serverDet === null ? '' : m.server![0],
        });
      }
    }
  }
  mkdirSync(dir, { recursive: true });
  const csv = (name: string, rows: Record<string, unknown>[], columns: string[]) => writeFileSync(join(dir, name), stringify(rows, { header: true, columns }));
  csv('summary.csv', summary, Object.keys(summary[0]!));
  csv('requests.csv', [], ['cell', 'protocol', 'rep', 'req_id', 'object', 'path', 'conn_id', 'stream_id', 'start_ms', 'ttfb_ms', 'ttlb_ms', 'bytes', 'status', 'error']);
  csv('chunks.csv', [], ['cell', 'protocol', 'rep', 'req_id', 'conn_id', 'stream_id', 't_ms', 'bytes', 'cum_bytes']);
  csv('drops.csv', [], ['t_ms', 'cell', 'rep', 'protocol', 'direction', 'cause', 'proto', 'src_port', 'dst_port']);
  if (o.messagesCsv ?? true) csv('messages.csv', messages, ['cell', 'protocol', 'rep', 'seq', 'sent_ms', 'recv_ms', 'latency_ms', 'bytes', 'dup']);
  const link = (loss: number) => ({ delayMs: rtt / 2, jitterMs: 0, jitterDist: 'uniform', loss: loss ? { kind: 'random', pct: loss } : { kind: 'none' }, rateBps: 20e6, queuePackets: 100, reorder: false });
  const run = {
    scenario: {
      name: scenario, file: 'scenarios/synthetic-messages.yaml',
      workload: { kind: 'messages', pattern, messages: count, interval_ms: interval, message_bytes: size, window: 1, duration_s: durationS, resume: true, keepalive: { ping_ms: 1000, heartbeat_ms: 1000 } },
    },
    backend: 'helper', kernel: '6.1.0-synthetic', tcp_cc: 'cubic', quic_cc: 'cubic',
    versions: { node: process.version, holbench: '0.1.0' },
    seed: scenarioSeed, started_at: '2026-01-01T12:00:00.000Z', finished_at: '2026-01-01T12:06:00.000Z',
    cells: cells.map((c) => ({ id: c.id, params: { loss_pct: c.loss }, profile: { uplink: link(c.loss), downlink: link(c.loss), seed: scenarioSeed, outages: c.outages } })),
    ...pairingRecord(pairing),
  };
  writeFileSync(join(dir, 'run.json'), JSON.stringify(run, null, 2));
  return { summary };
}
