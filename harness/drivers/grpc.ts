// gRPC message drivers on @grpc/grpc-js, cleartext, the Messages service of
// servers/holbench.proto. One channel per driver (grpc-js multiplexes every call over one
// HTTP/2 connection; a local subchannel pool keeps drivers from sharing connections).
//   grpc-unary  echo: one Echo RPC per message, deadline requestTimeoutMs (grpc-js default
//               fail-fast semantics); a failed RPC is a lost message
//   grpc-stream push: one Push server stream following the server's schedule
//   grpc-bidi   echo: one Chat stream; every message written on it comes back on it
//   grpc-client-stream upload: one Upload client stream; finish() half-closes it and
//               checks the server's answer (count and sha256 checksum must match what was
//               written), then reports each arrival with the server's receive time. No
//               resume: a failed upload is one failed call (every message lost).
//
// Connections: grpc-js exposes no connection events, so connectionsOpened() counts the
// channel's connectivity transitions into READY (each one is a new HTTP/2 transport).
//
// Keepalive (opts.keepalive): pingMs -> grpc.keepalive_time_ms, pingTimeoutMs (default
// pingMs) -> grpc.keepalive_timeout_ms, pings with or without calls. tcpKeepaliveMs has no
// client-side knob in grpc-js (it never exposes its socket) and is not applied here.
//
// Dead peer: when its keepalive ping is not acknowledged in time, grpc-js drops the
// transport and fails the calls on it with UNAVAILABLE "Connection dropped" -- the same
// status as any other lost connection. The only place grpc-js says *why* is its 'keepalive'
// trace ("... <addr> Ping timeout passed without response"). This module therefore turns
// that tracer on while grpc-js loads (GRPC_NODE_TRACE, restored right after) and installs a
// logger that watches for that line (everything else goes where grpc-js would have sent it).
// The line -> onDead('grpc-keepalive') at the moment the keepalive fires, for every pattern
// (with pings allowed without calls, an idle unary channel notices too). Any other loss of
// an established stream -> onDead('error:<STATUS>' or 'closed'); a unary call that fails
// with UNAVAILABLE (its transport dropped) -> onDead('error:UNAVAILABLE') once per transport,
// unless the keepalive already reported that transport. A unary call that only misses its
// deadline is a lost message, not a dead-peer verdict. Echo: a failed unary call is
// onLost('error:<STATUS>'); a Chat message sent while no stream is live waits for the
// reopened one (HeldSends), or without resume is onLost('not-sent'). If grpc-js was already loaded by
// someone else without that tracer, keepalive deaths show as 'error:UNAVAILABLE' (nothing of
// ours in the agent loads it: servers/grpc-wire.ts takes only grpc-js's constants module).
// With resume, a dead stream is reopened after retryMs (default 1000) with waitForReady
// (push: after = highest seq received) until close(); reconnects() counts those reopens
// (unary: connections after the first, since grpc-js reconnects by itself).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as GrpcJs from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { decodeMessage, encodeMessage, nowMs } from '../../contract/messages.ts';
import { checkOpen, HeldSends, type MessageDriver, type MessageDriverFactory, type MessageEvents, type MessagePattern, type OpenParams } from './messages.ts';
import type { Msg, PushRequest, UploadSummary } from '../../contract/grpc.ts';
import { withTimeout } from '../timeout.ts';
import { UploadLedger } from './grpc-upload.ts';

export type GrpcProtocol = 'grpc-unary' | 'grpc-stream' | 'grpc-bidi' | 'grpc-client-stream';

const PROTO = fileURLToPath(new URL('../../servers/holbench.proto', import.meta.url));
const require = createRequire(import.meta.url);

type Grpc = typeof GrpcJs;
type MessagesClient = GrpcJs.Client & {
  Echo(req: Msg, md: GrpcJs.Metadata, opts: GrpcJs.CallOptions, cb: (err: GrpcJs.ServiceError | null, res?: Msg) => void): GrpcJs.ClientUnaryCall;
  Push(req: PushRequest, md: GrpcJs.Metadata): GrpcJs.ClientReadableStream<Msg>;
  Chat(md: GrpcJs.Metadata): GrpcJs.ClientDuplexStream<Msg, Msg>;
  Upload(md: GrpcJs.Metadata, cb: (err: GrpcJs.ServiceError | null, res?: UploadSummary) => void): GrpcJs.ClientWritableStream<Msg>;
};

// --- grpc-js with the keepalive tracer -------------------------------------------------

const KEEPALIVE_TIMEOUT_LINE = /\| keepalive \| \(\d+\) (\S+) Ping timeout passed without response/;
/** called with the subchannel address ("host:port") whose keepalive ping timed out */
const keepaliveWatchers = new Set<(addr: string) => void>();
let loaded: { grpc: Grpc; keepaliveTraced: boolean } | undefined;

function verbosityFromEnv(g: Grpc): number {
  const v = (process.env.GRPC_NODE_VERBOSITY ?? process.env.GRPC_VERBOSITY ?? '').toUpperCase();
  const lv = g.logVerbosity;
  return v === 'DEBUG' ? lv.DEBUG : v === 'INFO' ? lv.INFO : v === 'NONE' ? lv.NONE : lv.ERROR;
}

function loadGrpc(): { grpc: Grpc; keepaliveTraced: boolean } {
  if (loaded) return loaded;
  const fresh = !require.cache[require.resolve('@grpc/grpc-js/build/src/logging.js')];
  const envTracers = process.env.GRPC_NODE_TRACE ?? process.env.GRPC_TRACE ?? '';
  const tracers = envTracers.split(',').filter(Boolean);
  const userKeepalive = tracers.includes('keepalive') || tracers.includes('all');
  const canTrace = fresh && !tracers.includes('-keepalive');
  const saved = process.env.GRPC_NODE_TRACE;
  if (canTrace && !userKeepalive) process.env.GRPC_NODE_TRACE = [...tracers, 'keepalive'].join(',');
  let grpc: Grpc;
  try {
    grpc = require('@grpc/grpc-js') as Grpc;
  } finally {
    if (saved === undefined) delete process.env.GRPC_NODE_TRACE;
    else process.env.GRPC_NODE_TRACE = saved;
  }
  if (canTrace) {
    // trace lines are logged at DEBUG; pass on only what grpc-js would have printed anyway
    const userVerbosity = verbosityFromEnv(grpc);
    const lv = grpc.logVerbosity;
    const out = (sev: number, tag: string) => (msg?: unknown, ...rest: unknown[]) => {
      const s = String(msg);
      const m = KEEPALIVE_TIMEOUT_LINE.exec(s);
      if (m) for (const w of keepaliveWatchers) w(m[1]!);
      const ours = !userKeepalive && s.includes(' | keepalive | ');
      if (!ours && sev >= userVerbosity) console.error(tag + s, ...rest);
    };
    grpc.setLogger({ debug: out(lv.DEBUG, 'D '), info: out(lv.INFO, 'I '), error: out(lv.ERROR, 'E ') });
    grpc.setLogVerbosity(lv.DEBUG);
  }
  loaded = { grpc, keepaliveTraced: canTrace };
  return loaded;
}

// --- the driver -----------------------------------------------------------------------

const PATTERNS: Record<GrpcProtocol, readonly MessagePattern[]> = {
  'grpc-unary': ['echo'],
  'grpc-stream': ['push'],
  'grpc-bidi': ['echo'],
  'grpc-client-stream': ['upload'],
};

interface StreamState {
  call: GrpcJs.ClientReadableStream<Msg> | GrpcJs.ClientDuplexStream<Msg, Msg>;
  /** the server answered (headers or a message) */
  established: boolean;
  /** onDead already reported for this stream (by the keepalive) */
  dead: boolean;
}

export function createGrpcDriver(protocol: GrpcProtocol): MessageDriverFactory {
  return async (opts) => {
    const { grpc } = loadGrpc();
    const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { holbench: { Messages: GrpcJs.ServiceClientConstructor } };
    const { host, port } = opts.target;
    const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const ka = opts.keepalive;
    const options: GrpcJs.ChannelOptions = { 'grpc.use_local_subchannel_pool': 1 };
    const pingTimeoutMs = ka.pingTimeoutMs ?? ka.pingMs;
    if (ka.pingMs) {
      options['grpc.keepalive_time_ms'] = ka.pingMs;
      options['grpc.keepalive_timeout_ms'] = pingTimeoutMs;
      options['grpc.keepalive_permit_without_calls'] = 1;
    }
    const client = new pkg.holbench.Messages(addr, grpc.credentials.createInsecure(), options) as unknown as MessagesClient;
    const channel = client.getChannel();
    const { READY, SHUTDOWN } = grpc.connectivityState;

    let closed = false;
    let connections = 0;
    let reopens = 0;
    let events: MessageEvents | undefined;
    let params: OpenParams | undefined;
    let highest = 0;
    let stream: StreamState | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    const unaryCalls = new Set<GrpcJs.ClientUnaryCall>();
    /** grpc-bidi echo: sent while no stream was live, written on the reopened one */
    const held = new HeldSends();
    /** grpc-client-stream: the call, what was written (seq -> send stamp, bytes), the answer */
    let upload: { call: GrpcJs.ClientWritableStream<Msg>; answer: Promise<UploadSummary>; failed: boolean } | undefined;
    const ledger = new UploadLedger();

    // connections: every entry into READY is a new transport
    let state = channel.getConnectivityState(false);
    const watch = () => {
      channel.watchConnectivityState(state, Infinity, () => {
        const next = channel.getConnectivityState(false);
        if (next === READY && state !== READY) connections++;
        state = next;
        if (next !== SHUTDOWN && !closed) watch();
      });
    };
    watch();

    /** `connections` when a dead peer was last reported: unary reports once per transport */
    let deadReportedAt = -1;
    const onKeepalive = (a: string) => {
      if (closed || a !== addr || !events) return;
      deadReportedAt = connections;
      if (stream) stream.dead = true;
      if (upload) upload.failed = true;
      events.onDead('grpc-keepalive', `keepalive PING not acknowledged within ${pingTimeoutMs} ms; grpc-js dropped the connection`);
    };
    keepaliveWatchers.add(onKeepalive);

    const deliver = (data: string) => {
      const d = decodeMessage(data);
      if (!d || closed) return;
      if (d.seq > highest) highest = d.seq;
      events!.onMessage(d.seq, d.tMs, d.bytes);
    };

    /** Start the stream; resolves once the server answered, rejects if it ended first. */
    const openStream = (after: number, first: boolean): Promise<void> => {
      const p = params!;
      // a reopen waits for the channel to come back instead of failing fast
      const md = new grpc.Metadata({ waitForReady: !first });
      const call =
        protocol === 'grpc-stream'
          ? client.Push({ stream: p.stream, count: p.count, interval_ms: p.intervalMs, bytes: p.bytes, after }, md)
          : client.Chat(md);
      const s: StreamState = { call, established: false, dead: false };
      stream = s;
      return new Promise<void>((resolve, reject) => {
        const up = () => {
          if (s.established) return;
          s.established = true;
          // Chat: what was sent while no stream was up goes on this one (a reopen that fails
          // before the server answered takes nothing with it)
          if (protocol === 'grpc-bidi') held.flush((seq) => (call as GrpcJs.ClientDuplexStream<Msg, Msg>).write({ data: encodeMessage(seq, p.bytes) }));
          resolve();
        };
        call.on('metadata', up);
        call.on('data', (m: Msg) => (up(), deliver(m.data)));
        call.on('error', () => {}); // reported through 'status'
        call.on('status', (st: GrpcJs.StatusObject) => {
          if (stream === s) stream = undefined;
          const what = st.code === grpc.status.OK ? 'closed' : `error:${grpc.status[st.code] ?? st.code}`;
          if (!s.established) reject(Object.assign(new Error(`${protocol}: stream failed: ${what} ${st.details}`), { code: st.code }));
          if (closed || (first && !s.established)) return; // open() reports that one
          if (s.established && !s.dead && !(protocol === 'grpc-stream' && st.code === grpc.status.OK && highest >= p.count)) {
            events!.onDead(what, st.details || what);
          }
          if (!p.resume) return;
          if (protocol === 'grpc-stream' && highest >= p.count) return;
          retryTimer = setTimeout(() => {
            if (closed) return;
            reopens++;
            openStream(highest, false).catch(() => {}); // a failed reopen retries from its own 'status'
          }, ka.retryMs ?? 1000);
        });
      });
    };

    const driver: MessageDriver = {
      protocol,
      patterns: PATTERNS[protocol],
      async open(p, ev) {
        checkOpen(protocol, PATTERNS[protocol], p, { opened: !!params, closed });
        params = p;
        events = ev;
        if (protocol === 'grpc-unary' || protocol === 'grpc-client-stream') {
          await new Promise<void>((resolve, reject) =>
            client.waitForReady(Date.now() + opts.requestTimeoutMs, (err) => (err ? reject(new Error(`${protocol}: channel not ready within ${opts.requestTimeoutMs} ms: ${err.message}`)) : resolve())),
          );
          if (protocol === 'grpc-client-stream') {
            let call!: GrpcJs.ClientWritableStream<Msg>;
            const answer = new Promise<UploadSummary>((resolve, reject) => {
              call = client.Upload(new grpc.Metadata(), (err, res) => {
                if (err || !res) {
                  const what = `error:${grpc.status[err?.code ?? grpc.status.UNKNOWN] ?? err?.code}`;
                  if (!closed && upload && !upload.failed) {
                    upload.failed = true;
                    events!.onDead(what, err?.details || what);
                  }
                  return reject(new Error(`${protocol}: upload failed: ${what} ${err?.details ?? ''}`));
                }
                resolve(res);
              });
            });
            answer.catch(() => {});
            upload = { call, answer, failed: false };
          }
          return;
        }
        await withTimeout(openStream(0, true), opts.requestTimeoutMs, `${protocol}: not open within ${opts.requestTimeoutMs} ms`, () => stream?.call.cancel());
      },
      async finish() {
        if (protocol !== 'grpc-client-stream' || !upload) throw new Error(`${protocol}: finish() is for uploads`);
        upload.call.end();
        ledger.settle(protocol, await upload.answer, events!);
      },
      send(seq) {
        if (closed || !params) return void events?.onLost(seq, 'not-sent');
        const data = encodeMessage(seq, params.bytes);
        if (protocol === 'grpc-unary') {
          const call = client.Echo({ data }, new grpc.Metadata(), { deadline: Date.now() + opts.requestTimeoutMs }, (err, res) => {
            unaryCalls.delete(call);
            if (!err && res) return deliver(res.data);
            if (closed) return;
            if (err?.code === grpc.status.UNAVAILABLE && deadReportedAt !== connections) {
              deadReportedAt = connections;
              events!.onDead('error:UNAVAILABLE', err.details || 'UNAVAILABLE');
            }
            events!.onLost(seq, `error:${grpc.status[err?.code ?? grpc.status.UNKNOWN] ?? err?.code}`);
          });
          unaryCalls.add(call);
        } else if (protocol === 'grpc-client-stream') {
          if (!upload || upload.failed || !upload.call.writable) return;
          const data = ledger.record(seq, params.bytes);
          upload.call.write({ data });
        } else if (protocol === 'grpc-bidi') {
          const c = stream?.call as GrpcJs.ClientDuplexStream<Msg, Msg> | undefined;
          if (c && c.writable && !stream!.dead && stream!.established) c.write({ data });
          else if (params.resume) held.hold(seq); // between a dead stream and its reopen's answer
          else events!.onLost(seq, 'not-sent');
        }
      },
      connectionsOpened: () => connections,
      reconnects: () => (protocol === 'grpc-unary' ? Math.max(0, connections - 1) : reopens),
      async close() {
        if (closed) return;
        closed = true;
        keepaliveWatchers.delete(onKeepalive);
        clearTimeout(retryTimer);
        stream?.call.cancel();
        for (const c of unaryCalls) c.cancel();
        upload?.call.cancel();
        unaryCalls.clear();
        client.close();
      },
    };
    return driver;
  };
}
