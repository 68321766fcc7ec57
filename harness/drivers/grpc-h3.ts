// gRPC over HTTP/3 message drivers: the calls of harness/drivers/grpc.ts (grpc-js over h2c)
// with the same patterns and the same messages, on our HTTP/3 client
// (grpc-h3-channel.ts), so grpc-unary vs grpc-h3-unary compares transports only:
//   grpc-h3-unary         echo: one Echo call per message (a request stream each), deadline
//                         requestTimeoutMs; a failed call is a lost message
//   grpc-h3-stream        push: one Push server stream
//   grpc-h3-bidi          echo: one Chat stream
//   grpc-h3-client-stream upload: one Upload client stream, answered once (count, checksum,
//                         the server's arrival times), as grpc-client-stream
//
// Liveness is QUIC's, as for sse-h3 (harness/drivers/sse-h3.ts): keepalive.quicIdleTimeoutMs
// is the connection's idle timeout, keepalive.pingMs sends QUIC PINGs; QUIC has no PING
// timeout, so a dead path is noticed when the idle timeout fires. A call that dies with the
// connection's QuicIdleTimeout -> onDead('quic-idle') once per connection (every pattern,
// unary included, while a call is in flight); a stream that dies otherwise after it was
// established -> onDead('error:<STATUS>'), one that ends early -> onDead('closed').
// With resume, a dead stream is reopened after retryMs (default 1000) on a new connection
// (push: after = highest seq received); unary calls simply go out on the next connection.
// Echo: a unary call that ends without its answer is onLost('error:<STATUS>'); a Chat
// message sent while no stream is live waits for the reopened one (HeldSends), or without
// resume is onLost('not-sent').
import { h3Support } from '../../h3/binding.ts';
import { H3UnsupportedError } from '../../h3/errors.ts';
import type { H3Client } from '../../h3/client.ts';
import { decodeMessage, encodeMessage } from '../../contract/messages.ts';
import { GRPC_SERVICE, GRPC_STATUS, grpcMethods, grpcStatusName } from '../../servers/grpc-wire.ts';
import { GrpcH3Channel, type GrpcCall, type GrpcStatus } from './grpc-h3-channel.ts';
import { checkOpen, HeldSends, type MessageDriver, type MessageDriverFactory, type MessageEvents, type MessagePattern, type OpenParams } from './messages.ts';
import type { Msg, UploadSummary } from '../../contract/grpc.ts';
import { withTimeout } from '../timeout.ts';
import { UploadLedger } from './grpc-upload.ts';

export type GrpcH3Protocol = 'grpc-h3-unary' | 'grpc-h3-stream' | 'grpc-h3-bidi' | 'grpc-h3-client-stream';

const PATTERNS: Record<GrpcH3Protocol, readonly MessagePattern[]> = {
  'grpc-h3-unary': ['echo'],
  'grpc-h3-stream': ['push'],
  'grpc-h3-bidi': ['echo'],
  'grpc-h3-client-stream': ['upload'],
};

export function createGrpcH3Driver(protocol: GrpcH3Protocol): MessageDriverFactory {
  return async (opts) => {
    const support = h3Support();
    if (!support.ok) throw new H3UnsupportedError(`${protocol} unsupported: ${support.reason}`);
    const { QuicIdleTimeout } = await import('../../h3/quic.ts');
    const ch = await GrpcH3Channel.create({ target: opts.target, keepalive: opts.keepalive, handshakeTimeoutMs: opts.requestTimeoutMs });
    const m = grpcMethods();
    const method = (name: string) => m.get(GRPC_SERVICE + name)!;
    const ka = opts.keepalive;

    let closed = false;
    let params: OpenParams | undefined;
    let events: MessageEvents | undefined;
    let highest = 0;
    let reopens = 0;
    let retryTimer: NodeJS.Timeout | undefined;
    let stream: GrpcCall | undefined;
    /** the stream once the server answered it (echo messages go on it; before that they wait) */
    let live: GrpcCall | undefined;
    const unary = new Set<GrpcCall>();
    /** grpc-h3-bidi echo: sent while no stream was live, written on the reopened one */
    const held = new HeldSends();
    const deadConns = new WeakSet<H3Client>();
    let upload: { call: GrpcCall; answer: Promise<UploadSummary>; failed: boolean } | undefined;
    const ledger = new UploadLedger();

    const deliver = (data: string) => {
      const d = decodeMessage(data);
      if (!d || closed) return;
      if (d.seq > highest) highest = d.seq;
      events!.onMessage(d.seq, d.tMs, d.bytes);
    };

    /** 'quic-idle' once per connection that idled out; true if this status was that. */
    const idleDeath = (s: GrpcStatus): boolean => {
      if (!(s.cause instanceof QuicIdleTimeout)) return false;
      if (s.client && !deadConns.has(s.client) && !closed) {
        deadConns.add(s.client);
        events?.onDead('quic-idle', `${s.cause.message} (${ka.quicIdleTimeoutMs ?? 30_000} ms${ka.pingMs ? `, PING every ${ka.pingMs} ms` : ''})`);
      }
      return true;
    };

    /** Start the stream; resolves once the server answered (headers), rejects if it ended first. */
    const openStream = (after: number, first: boolean): Promise<void> => {
      const p = params!;
      const name = protocol === 'grpc-h3-stream' ? 'Push' : 'Chat';
      const meth = method(name);
      let established = false;
      return new Promise<void>((resolve, reject) => {
        const call = ch.call(meth.path, {}, {
          onHeaders: () => {
            if (!established && !first) reopens++; // a reconnect that worked (failed attempts retry)
            if (!established && stream === call) {
              live = call;
              // Chat: what was sent while no stream was up goes on this one (a reopen that
              // fails before the server answered, e.g. its handshake, takes nothing with it)
              if (protocol === 'grpc-h3-bidi') held.flush((seq) => call.write(meth.requestSerialize({ data: encodeMessage(seq, p.bytes) })));
            }
            established = true;
            resolve();
          },
          onMessage: (b) => deliver((meth.responseDeserialize(b) as Msg).data),
          onStatus: (s) => {
            if (stream === call) stream = undefined;
            if (live === call) live = undefined;
            const what = s.code === GRPC_STATUS.OK ? 'closed' : `error:${grpcStatusName(s.code)}`;
            if (!established) reject(Object.assign(new Error(`${protocol}: stream failed: ${what} ${s.details}`), { code: s.code }));
            if (closed || (first && !established)) return;
            const complete = protocol === 'grpc-h3-stream' && s.code === GRPC_STATUS.OK && highest >= p.count;
            if (!idleDeath(s) && established && !complete) events!.onDead(what, s.details || what);
            if (!p.resume || complete) return;
            retryTimer = setTimeout(() => {
              if (closed) return;
              openStream(highest, false).catch(() => {}); // a failed reopen retries from its own status
            }, ka.retryMs ?? 1000);
          },
        });
        stream = call;
        if (protocol === 'grpc-h3-stream') {
          call.write(meth.requestSerialize({ stream: p.stream, count: p.count, interval_ms: p.intervalMs, bytes: p.bytes, after }));
          call.end();
        }
      });
    };

    const driver: MessageDriver = {
      protocol,
      patterns: PATTERNS[protocol],
      async open(p, ev) {
        checkOpen(protocol, PATTERNS[protocol], p, { opened: !!params, closed });
        params = p;
        events = ev;
        await ch.getClient(); // the handshake (bounded by requestTimeoutMs)
        if (protocol === 'grpc-h3-unary') return;
        if (protocol === 'grpc-h3-client-stream') {
          const meth = method('Upload');
          let call!: GrpcCall;
          const answer = new Promise<UploadSummary>((resolve, reject) => {
            let res: UploadSummary | undefined;
            call = ch.call(meth.path, {}, {
              onMessage: (b) => (res = meth.responseDeserialize(b) as UploadSummary),
              onStatus: (s) => {
                if (s.code === GRPC_STATUS.OK && res) return resolve(res);
                const what = `error:${grpcStatusName(s.code)}`;
                if (!closed && upload && !upload.failed) {
                  upload.failed = true;
                  if (!idleDeath(s)) events!.onDead(what, s.details || what);
                }
                reject(new Error(`${protocol}: upload failed: ${what} ${s.details}`));
              },
            });
          });
          answer.catch(() => {});
          upload = { call, answer, failed: false };
          return;
        }
        await withTimeout(openStream(0, true), opts.requestTimeoutMs, `${protocol}: stream open not within ${opts.requestTimeoutMs} ms`, () => stream?.cancel());
      },
      send(seq) {
        if (closed || !params) return void events?.onLost(seq, 'not-sent');
        if (protocol === 'grpc-h3-unary') {
          const meth = method('Echo');
          let answered = false;
          const call = ch.call(meth.path, { deadlineMs: opts.requestTimeoutMs }, {
            onMessage: (b) => ((answered = true), deliver((meth.responseDeserialize(b) as Msg).data)),
            onStatus: (s) => {
              unary.delete(call);
              idleDeath(s);
              if (!answered && !closed) events!.onLost(seq, `error:${grpcStatusName(s.code)}`);
            },
          });
          unary.add(call);
          call.write(meth.requestSerialize({ data: encodeMessage(seq, params.bytes) }));
          call.end();
        } else if (protocol === 'grpc-h3-bidi') {
          if (live?.write(method('Chat').requestSerialize({ data: encodeMessage(seq, params.bytes) }))) return;
          // between a dead stream and its reopen: wait for the new one (resume), else lost now
          if (params.resume) held.hold(seq);
          else events!.onLost(seq, 'not-sent');
        } else if (protocol === 'grpc-h3-client-stream') {
          if (!upload || upload.failed) return;
          const data = ledger.record(seq, params.bytes);
          upload.call.write(method('Upload').requestSerialize({ data }));
        }
      },
      async finish() {
        if (protocol !== 'grpc-h3-client-stream' || !upload) throw new Error(`${protocol}: finish() is for uploads`);
        upload.call.end();
        ledger.settle(protocol, await upload.answer, events!);
      },
      connectionsOpened: () => ch.connections(),
      reconnects: () => (protocol === 'grpc-h3-unary' ? Math.max(0, ch.connections() - 1) : reopens),
      async close() {
        if (closed) return;
        closed = true;
        clearTimeout(retryTimer);
        stream?.cancel();
        upload?.call.cancel();
        for (const c of unary) c.cancel();
        unary.clear();
        await ch.close();
      },
    };
    return driver;
  };
}
