// gRPC on @grpc/grpc-js, cleartext HTTP/2 (h2c): the Messages service of holbench.proto.
//   Echo  (unary)          -> grpc-unary: the reply is the request unchanged
//   Push  (server stream)  -> grpc-stream: follows the shared push schedule (resume with `after`)
//   Chat  (bidi stream)    -> grpc-bidi: every message echoed on the same stream
//   Upload (client stream) -> grpc-client-stream: the server notes each message's arrival
//                             (seq, its wall clock) and answers once, after the client's
//                             half-close, with count + sha256 checksum + the arrivals
//
// Connections: we own the listening socket (node:net) and hand each accepted TCP connection
// to grpc-js through its public ConnectionInjector (Server.createConnectionInjector), so
// stats.connections counts TCP accepts exactly (grpc-js has no per-connection hook when it
// binds the port itself). stats.requests counts RPCs plus every message the server sends
// on a stream (pushed or echoed).
//
// Keepalive (ctx.keepalive): pingMs -> grpc.keepalive_time_ms, pingTimeoutMs (default
// pingMs) -> grpc.keepalive_timeout_ms; pings are sent with or without calls. The ping-abuse
// limits are relaxed so client pings at the same rate are accepted (grpc-js servers do not
// police pings today, C-core ones do). tcpKeepaliveMs is applied to accepted sockets.
//
// Dead peers: when the server's keepalive ping is not acknowledged in time, grpc-js destroys
// the HTTP/2 session and logs "Connection dropped by keepalive timeout from <peer>" in the
// server's channelz trace (with the time it fired). That trace, read through the public
// channelz handlers whenever one of our sockets closes, is the signal: each such entry is one
// DeadPeerEvent {mechanism: 'grpc-keepalive'} at the trace's timestamp (ms resolution).
// A connection that dies on ETIMEDOUT with tcpKeepaliveMs set is recorded as 'tcp-keepalive'.
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { decodeMessage, DeadPeerLog, encodeMessage, nowMs, parsePushParams, PushSchedules, UploadDigest } from '../contract/messages.ts';
import type { ServerPlugin, ServerStats } from './types.ts';
import { pushRequestQuery, type Msg, type PushRequest, type UploadSummary } from '../contract/grpc.ts';

export const GRPC_PROTO = fileURLToPath(new URL('./holbench.proto', import.meta.url));


export function grpcPlugin(): ServerPlugin {
  const stats = { connections: 0, requests: 0 };
  const deadPeers = new DeadPeerLog();
  const sockets = new Set<net.Socket>();
  const schedules = new PushSchedules();
  let server: grpc.Server | undefined;
  let listener: net.Server | undefined;
  let injector: grpc.ConnectionInjector | undefined;
  let tcpKeepaliveMs = 0;
  let traceSeen = 0;

  /** New entries of the server's channelz trace since the last scan -> dead peers. */
  const scanTrace = () => {
    if (!server) return;
    const ref = server.getChannelzRef();
    const handlers = grpc.getChannelzHandlers();
    const call = { request: { server_id: String(ref.id) } } as unknown as Parameters<typeof handlers.GetServer>[0];
    handlers.GetServer(call, (err, resp) => {
      const trace = (resp as { server?: { data?: { trace?: ChannelzTrace } } } | undefined)?.server?.data?.trace;
      if (err || !trace) return;
      const logged = Number(trace.num_events_logged);
      const fresh = trace.events.slice(Math.max(0, trace.events.length - (logged - traceSeen)));
      traceSeen = logged;
      for (const e of fresh) {
        if (/^Connection dropped by keepalive timeout/.test(e.description)) {
          const atMs = e.timestamp ? Number(e.timestamp.seconds) * 1000 + Number(e.timestamp.nanos) / 1e6 : nowMs();
          deadPeers.record('grpc-keepalive', atMs);
        }
      }
    });
  };

  const impl: grpc.UntypedServiceImplementation = {
    Echo(call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) {
      stats.requests++;
      cb(null, { data: call.request.data });
    },
    Push(call: grpc.ServerWritableStream<PushRequest, Msg>) {
      stats.requests++;
      const p = parsePushParams(pushRequestQuery(call.request));
      if (typeof p === 'string') {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: p });
        return;
      }
      // headers now, so the client knows the stream is open before the first message is due
      call.sendMetadata(new grpc.Metadata());
      let ended = false;
      const stop = schedules.follow(
        p,
        (seq, due) => {
          if (ended) return;
          stats.requests++;
          call.write({ data: encodeMessage(seq, p.bytes, due) });
        },
        () => {
          ended = true;
          call.end();
        },
      );
      const finish = () => {
        ended = true;
        stop();
      };
      call.on('cancelled', finish);
      call.on('error', finish);
      call.on('close', finish);
    },
    Chat(call: grpc.ServerDuplexStream<Msg, Msg>) {
      stats.requests++;
      call.sendMetadata(new grpc.Metadata());
      let ended = false;
      call.on('data', (m: Msg) => {
        if (ended) return;
        stats.requests++;
        call.write({ data: m.data });
      });
      call.on('end', () => {
        if (!ended) call.end();
        ended = true;
      });
      call.on('cancelled', () => void (ended = true));
      call.on('error', () => void (ended = true));
    },
    Upload(call: grpc.ServerReadableStream<Msg, UploadSummary>, cb: grpc.sendUnaryData<UploadSummary>) {
      stats.requests++;
      const digest = new UploadDigest();
      const seq: number[] = [];
      const recvMs: number[] = [];
      call.on('data', (m: Msg) => {
        const at = nowMs();
        digest.add(m.data);
        seq.push(decodeMessage(m.data)?.seq ?? 0);
        recvMs.push(at);
      });
      call.on('end', () => cb(null, { count: digest.count, checksum: digest.hex(), seq, recv_ms: recvMs }));
    },
  };

  return {
    protocol: 'grpc',
    async start(ctx) {
      const ka = ctx.keepalive ?? {};
      const options: grpc.ServerOptions = {};
      if (ka.pingMs) {
        options['grpc.keepalive_time_ms'] = ka.pingMs;
        options['grpc.keepalive_timeout_ms'] = ka.pingTimeoutMs ?? ka.pingMs;
        options['grpc.keepalive_permit_without_calls'] = 1;
        // accept client pings at any rate, with or without data (no too_many_pings GOAWAY)
        options['grpc.http2.min_ping_interval_without_data_ms'] = 0;
        options['grpc.http2.max_pings_without_data'] = 0;
        options['grpc.http2.max_ping_strikes'] = 0;
      }
      tcpKeepaliveMs = ka.tcpKeepaliveMs ?? 0;
      const def = protoLoader.loadSync(GRPC_PROTO, { keepCase: true, longs: Number, defaults: true });
      const pkg = grpc.loadPackageDefinition(def) as unknown as { holbench: { Messages: grpc.ServiceClientConstructor } };
      server = new grpc.Server(options);
      server.addService(pkg.holbench.Messages.service, impl);
      injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
      const inj = injector;
      listener = net.createServer((sock) => {
        stats.connections++;
        sock.setNoDelay(true);
        if (tcpKeepaliveMs > 0) sock.setKeepAlive(true, tcpKeepaliveMs);
        sockets.add(sock);
        let sockErr: NodeJS.ErrnoException | undefined;
        sock.on('error', (e: NodeJS.ErrnoException) => (sockErr ??= e));
        sock.once('close', () => {
          sockets.delete(sock);
          if (sockErr?.code === 'ETIMEDOUT' && tcpKeepaliveMs > 0) deadPeers.record('tcp-keepalive');
          scanTrace();
        });
        inj.injectConnection(sock);
      });
      const l = listener;
      await new Promise<void>((resolve, reject) => {
        l.once('error', reject);
        l.listen(0, ctx.host, () => (l.off('error', reject), resolve()));
      });
      return { port: (l.address() as net.AddressInfo).port, transport: 'tcp' };
    },
    stats(): ServerStats {
      scanTrace();
      return { ...stats, deadPeers: deadPeers.list() };
    },
    async stop() {
      const l = listener;
      listener = undefined;
      injector?.destroy();
      server?.forceShutdown();
      for (const s of sockets) s.destroy();
      if (l) await new Promise<void>((r) => l.close(() => r()));
    },
  };
}

interface ChannelzTrace {
  num_events_logged: number | string;
  events: { description: string; timestamp?: { seconds: number | string; nanos: number } | null }[];
}
