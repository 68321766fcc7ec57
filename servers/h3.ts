// HTTP/3 (our h3/ stack over quiche) with the per-run certificate, on UDP.
//
//   GET /sse?<push params>   text/event-stream (`sse-h3`): servers/eventstream.ts over one
//                            HTTP/3 stream; Last-Event-ID resumes; no comment heartbeats
//   content-type application/grpc   gRPC over HTTP/3 (`grpc-h3-*`, servers/grpc-h3.ts): the
//                            Messages service of holbench.proto, status in trailers
//   CONNECT /wt?...          WebTransport sessions (`webtransport-stream|uni|datagram`,
//                            servers/webtransport.ts; extended CONNECT, :protocol webtransport)
//   everything else          the deterministic payload endpoints (servers/h3-payload.ts)
//
// Liveness (ctx.keepalive, messages workloads only): quicIdleTimeoutMs is the listener's QUIC
// max_idle_timeout (default 30 s); pingMs sends a QUIC PING on every connection that often.
// A connection that closes because of the idle timeout while it had a request in flight (an event
// stream), or while this server was sending it PINGs (pingMs set), is a dead peer:
// stats().deadPeers gets {atMs, mechanism: 'quic-idle'}. The PING case is the QUIC form of
// grpc-js's keepalive, which pings with or without calls and so notices a dead peer on an
// idle channel: grpc-h3-unary holds no request open between calls (a unary response is handed
// to QUIC at once), yet its server notices a dead client as grpc-unary's does. Without PINGs
// an idle timeout with nothing in flight is just a quiet connection ending. On a dead path
// that is the idle timeout after the first ack-eliciting packet (a message, a PING) sent
// since the last packet received (RFC 9000 10.1).
// retryMs is the event stream's `retry:` field.
//
// Responses share a connection as ctx.scheduling / configure() say (servers/scheduler.ts):
// each gets an RFC 9218 priority that orders both our feed into quiche and quiche's packet
// scheduler; the client's Priority header and PRIORITY_UPDATE frames count under `browser`.
//
// stats(): connections = QUIC connections accepted; requests = HTTP/3 requests; tls =
// completed handshakes, full vs resumed (alpn h3; quiche does not name the suite); zeroRtt =
// handshakes whose connection carried requests in 0-RTT; extra:
// messagesSent (event-stream and gRPC messages written), deadPeers, (event-stream and WebTransport messages sent), deadPeers, webtransport
// (sessions, messages, datagrams dropped before leaving). A WebTransport session is a request
// in flight, so an idle timeout under it is a 'quic-idle' dead peer as for an event stream.
import { h3Support } from '../h3/binding.ts';
import { payloadHandler } from './h3-payload.ts';
import { H3UnsupportedError } from '../h3/errors.ts';
import type { H3Reply, H3Request, H3Server, PushBody as PushBodyT } from '../h3/server.ts';
import { EVENT_STREAM_HEADERS, followEventStream, resumeFrom } from './eventstream.ts';
import { DeadPeerLog, parsePushParams, PushSchedules, type DeadPeerEvent, type Keepalive } from '../contract/messages.ts';
import type { ServerPlugin, ServerStats } from './types.ts';
import { grpcH3Handler, isGrpcRequest } from './grpc-h3.ts';
import { DEFAULT_SCHEDULING, priorityFor, WriteScheduler, type Scheduling } from './scheduler.ts';
import { wtEndpoint, type WtEndpointStats } from './webtransport.ts';

export { h3Support };

export interface H3ServerStats extends ServerStats {
  deadPeers: DeadPeerEvent[];
  messagesSent: number;
  webtransport: WtEndpointStats;
}

export interface H3Plugin extends ServerPlugin {
  stats(): H3ServerStats;
}

export function h3Plugin(): H3Plugin {
  let server: H3Server | undefined;
  let last: Pick<ServerStats, 'connections' | 'requests' | 'tls' | 'zeroRtt'> = { connections: 0, requests: 0 };
  const snapshot = (s: H3Server) => {
    const st = s.stats();
    const n = st.handshakes.full + st.handshakes.resumed;
    return { connections: st.connections, requests: st.requests, tls: { full: st.handshakes.full, resumed: st.handshakes.resumed, alpn: (n ? { h3: n } : {}) as Record<string, number>, suites: {} }, zeroRtt: st.handshakes.zeroRtt };
  };
  let messagesSent = 0;
  const deadPeers = new DeadPeerLog();
  const schedules = new PushSchedules();
  /** open event streams, ended by stop() */
  const streams = new Set<PushBodyT>();
  let ka: Keepalive = {};
  let scheduling: Scheduling = DEFAULT_SCHEDULING;
  let PushBody: typeof PushBodyT;
  const wt = wtEndpoint(schedules, () => void messagesSent++);

  const text = (status: number, body: string): H3Reply => ({ status, headers: { 'content-type': 'text/plain', 'cache-control': 'no-store' }, body });

  const onSse = (req: H3Request): H3Reply => {
    if (req.method !== 'GET') return text(405, 'GET only\n');
    const q = new URL(req.path, 'https://x').searchParams;
    const p0 = parsePushParams(q);
    if (typeof p0 === 'string') return text(400, `${p0}\n`);
    const p = resumeFrom(p0, req.headers['last-event-id']);
    if (typeof p === 'string') return text(400, `${p}\n`);
    const body = new PushBody();
    streams.add(body);
    // Liveness is QUIC's (idle timeout, PINGs), so no comment heartbeats.
    const stop = followEventStream(schedules, p, { retryMs: ka.retryMs ?? 1000, onSent: () => void messagesSent++ }, (s) => void body.write(s));
    body.onClose(() => {
      stop();
      streams.delete(body);
    });
    return { status: 200, headers: { ...EVENT_STREAM_HEADERS }, body };
  };

  const handler = (req: H3Request): H3Reply => {
    const path = req.path;
    if (req.webtransport) return path.startsWith('/wt') ? wt.handle(req) : text(404, 'WebTransport sessions at /wt\n');
    if (path.startsWith('/sse') && (path.length === 4 || path[4] === '?')) return onSse(req);
    if (isGrpcRequest(req)) return grpcH3Handler(req, { PushBody, schedules, streams, onSent: () => void messagesSent++ });
    return payloadHandler(req);
  };

  return {
    protocol: 'h3',
    async start(ctx) {
      const support = h3Support();
      if (!support.ok) throw new H3UnsupportedError(`h3 unsupported: ${support.reason}`);
      const [mod, { QuicIdleTimeout }] = await Promise.all([import('../h3/server.ts'), import('../h3/quic.ts')]);
      PushBody = mod.PushBody;
      ka = ctx.keepalive ?? {};
      scheduling = ctx.scheduling ?? DEFAULT_SCHEDULING;
      server = await mod.listen(
        ctx.host,
        0,
        {
          key: ctx.tls.key,
          cert: ctx.tls.cert,
          cc: ctx.quicCc ?? 'cubic',
          idleTimeoutMs: ka.quicIdleTimeoutMs,
          pingMs: ka.pingMs,
          webtransport: ctx.webtransport ?? true,
          // the same discipline and scheduler as the h2 server (servers/scheduler.ts)
          scheduling: {
            newScheduler: () => new WriteScheduler(),
            priorityOf: (header, update) => priorityFor(scheduling, header, update),
          },
          onConnectionClosed: ({ err, inFlight }) => {
            // pinging, a silent peer is dead even with no request open (the grpc-js keepalive rule)
            if (!(err instanceof QuicIdleTimeout) || (inFlight === 0 && !ka.pingMs)) return;
            deadPeers.record('quic-idle');
          },
        },
        handler,
      );
      return { port: server.port, transport: 'udp' };
    },
    stats() {
      if (server) last = snapshot(server);
      return { ...last, messagesSent, deadPeers: deadPeers.list(), webtransport: wt.stats() };
    },
    configure(c) {
      scheduling = c.scheduling;
    },
    async stop() {
      const s = server;
      if (!s) return;
      last = snapshot(s);
      server = undefined;
      // End the event streams so clients close their connections within the grace period.
      for (const b of [...streams]) b.end();
      wt.closeAll();
      await s.close(1000);
    },
  };
}
