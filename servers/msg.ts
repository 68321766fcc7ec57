// The messaging plugin: WebSocket, Server-Sent Events and long polling on one cleartext
// node:http server (protocol 'msg'). The message format and push schedules are in
// messages.ts; everything here is the transport around them.
//
//   GET /ws?mode=echo                      WebSocket; every message comes back unchanged
//   GET /ws?mode=push&<push params>        WebSocket; the server pushes text frames
//   GET /sse?<push params>                 text/event-stream; Last-Event-ID resumes
//   GET /poll?<push params>&hold_ms=N      long poll: due messages at once, else hold
//   GET /health                            "ok"
//
// Liveness (ctx.keepalive): tcpKeepaliveMs on every accepted socket; pingMs/pingTimeoutMs:
// WebSocket ping from the server; heartbeatMs: SSE comment lines; holdMs: default hold of a
// long poll; retryMs: the SSE `retry:` field. Dead peers the server notices are recorded in
// stats().deadPeers: 'ws-ping' (no pong in time), 'sse-write' (a write on an event stream
// failed), 'tcp-keepalive' (a socket failed with ETIMEDOUT while TCP keepalive was on).
//
// stats(): connections = TCP connections accepted; requests = HTTP requests (WebSocket
// upgrades, event streams, polls) plus WebSocket messages received. Extra counters:
// messagesSent (pushed or echoed messages, every transport), polls204 (long polls that
// ended empty).
import http from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { closeAll, listenTcp } from './http-common.ts';
import { EVENT_STREAM_HEADERS, followEventStream, resumeFrom } from './eventstream.ts';
import { DeadPeerLog, encodeMessage, nowMs, parsePushParams, PushSchedules, type DeadPeerEvent, type Keepalive, type PushParams } from '../contract/messages.ts';
import type { ServerPlugin, ServerStats } from './types.ts';

export interface MsgServerStats extends ServerStats {
  deadPeers: DeadPeerEvent[];
  messagesSent: number;
  polls204: number;
}

/** Most messages one long-poll response carries (the client re-polls at once for the rest). */
const POLL_MAX_MESSAGES = 1000;
const POLL_MAX_BYTES = 4 << 20;
const DEFAULT_HOLD_MS = 30_000;
const MAX_HOLD_MS = 600_000;

export function msgPlugin(): ServerPlugin & { stats(): MsgServerStats } {
  const stats = { connections: 0, requests: 0, messagesSent: 0, polls204: 0 };
  const deadPeers = new DeadPeerLog();
  const sockets = new Set<Socket>();
  /** sockets whose death was already recorded (one event per connection) */
  const deadRecorded = new WeakSet<Socket>();
  const cleanups = new Set<() => void>();
  const schedules = new PushSchedules();
  let server: http.Server | undefined;
  let wss: WebSocketServer | undefined;
  let ka: Keepalive = {};

  const recordDead = (socket: Socket | null, mechanism: string) => {
    if (socket) {
      if (deadRecorded.has(socket)) return;
      deadRecorded.add(socket);
    }
    deadPeers.record(mechanism);
  };
  /** The mechanism behind a socket/write error: TCP keepalive gives up with ETIMEDOUT. */
  const errMechanism = (err: NodeJS.ErrnoException, otherwise: string) =>
    err.code === 'ETIMEDOUT' && ka.tcpKeepaliveMs ? 'tcp-keepalive' : otherwise;
  /** Register a cleanup that stop() runs; returns its remover. */
  const track = (fn: () => void) => {
    cleanups.add(fn);
    return () => void cleanups.delete(fn);
  };

  // ------------------------------------------------------------------ WebSocket

  const onWs = (ws: WebSocket, socket: Socket, q: URLSearchParams) => {
    const mode = q.get('mode') ?? 'echo';
    let cancelPush: (() => void) | undefined;
    let pingTimer: NodeJS.Timeout | undefined;
    let pongTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      cancelPush?.();
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      untrack();
    };
    const untrack = track(() => (stop(), ws.terminate()));
    ws.on('close', stop);
    ws.on('error', () => {}); // 'close' follows

    if (ka.pingMs) {
      const timeout = ka.pingTimeoutMs ?? ka.pingMs;
      ws.on('pong', () => {
        clearTimeout(pongTimer);
        pongTimer = undefined;
      });
      pingTimer = setInterval(() => {
        if (pongTimer || ws.readyState !== ws.OPEN) return; // still waiting for the last pong
        ws.ping();
        pongTimer = setTimeout(() => {
          recordDead(socket, 'ws-ping');
          stop();
          ws.terminate();
        }, timeout);
      }, ka.pingMs);
    }

    if (mode === 'echo') {
      ws.on('message', (data, isBinary) => {
        stats.requests++;
        stats.messagesSent++;
        ws.send(data, { binary: isBinary });
      });
      return;
    }
    ws.on('message', () => void stats.requests++);
    const p = parsePushParams(q) as PushParams; // validated before the upgrade
    cancelPush = schedules.follow(p, (seq, due) => {
      if (ws.readyState !== ws.OPEN) return;
      stats.messagesSent++;
      ws.send(encodeMessage(seq, p.bytes, due));
    });
  };

  // ------------------------------------------------------------------ SSE

  const onSse = (req: http.IncomingMessage, res: http.ServerResponse, p0: PushParams) => {
    const socket = req.socket;
    const p = resumeFrom(p0, req.headers['last-event-id']);
    if (typeof p === 'string') return void reply(res, 400, `${p}\n`);
    res.writeHead(200, EVENT_STREAM_HEADERS);
    res.flushHeaders();
    let ended = false;
    let cancel = () => {};
    const stop = () => {
      if (ended) return;
      ended = true;
      cancel();
      untrack();
    };
    const untrack = track(() => (stop(), res.destroy()));
    const onWriteError = (err: Error | null | undefined) => {
      if (!err || ended) return;
      recordDead(socket, errMechanism(err as NodeJS.ErrnoException, 'sse-write'));
      stop();
      res.destroy();
    };
    res.on('error', onWriteError);
    res.on('close', stop);
    cancel = followEventStream(schedules, p, { retryMs: ka.retryMs ?? 1000, heartbeatMs: ka.heartbeatMs, onSent: () => void stats.messagesSent++ }, (s) => {
      if (!ended && !res.destroyed) res.write(s, onWriteError);
    });
    if (ended) cancel();
  };

  // ------------------------------------------------------------------ long polling

  const onPoll = (req: http.IncomingMessage, res: http.ServerResponse, p: PushParams, holdMs: number) => {
    const start = schedules.startOf(p.stream);
    /** highest seq due at `now` (0 = none yet) */
    const dueThrough = (now: number) => (p.intervalMs === 0 ? p.count : Math.min(p.count, Math.floor((now - start) / p.intervalMs) + 1));
    const holdUntil = nowMs() + holdMs;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = () => {
      done = true;
      clearTimeout(timer);
      untrack();
    };
    const untrack = track(() => (finish(), res.destroy()));
    res.on('close', () => done || finish());
    const check = () => {
      if (done) return;
      const now = nowMs();
      const last = Math.min(dueThrough(now), p.after + Math.max(1, Math.min(POLL_MAX_MESSAGES, Math.floor(POLL_MAX_BYTES / (p.bytes + 1)))));
      if (last > p.after) {
        finish();
        const lines: string[] = [];
        for (let seq = p.after + 1; seq <= last; seq++) lines.push(encodeMessage(seq, p.bytes, start + (seq - 1) * p.intervalMs));
        stats.messagesSent += lines.length;
        const body = lines.join('\n');
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store', 'x-last-seq': String(last) });
        return void res.end(body);
      }
      if (p.after >= p.count || now >= holdUntil) {
        finish();
        stats.polls204++;
        res.writeHead(204, { 'cache-control': 'no-store' });
        return void res.end();
      }
      const nextDue = start + p.after * p.intervalMs; // due time of seq after+1
      timer = setTimeout(check, Math.max(0, Math.min(nextDue, holdUntil) - nowMs()));
    };
    check();
  };

  // ------------------------------------------------------------------ routing

  const reply = (res: http.ServerResponse, status: number, text: string) => {
    res.writeHead(status, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end(text);
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET') return void reply(res, 405, 'GET only\n');
    if (url.pathname === '/health') return void reply(res, 200, 'ok');
    if (url.pathname === '/sse' || url.pathname === '/poll') {
      const p = parsePushParams(url.searchParams);
      if (typeof p === 'string') return void reply(res, 400, `${p}\n`);
      if (url.pathname === '/sse') return onSse(req, res, p);
      const h = url.searchParams.get('hold_ms');
      const hold = h === null ? (ka.holdMs ?? DEFAULT_HOLD_MS) : Number(h);
      if (!Number.isFinite(hold) || hold < 0 || hold > MAX_HOLD_MS) return void reply(res, 400, `bad hold_ms: ${h}\n`);
      return onPoll(req, res, p, hold);
    }
    if (url.pathname === '/ws') return void reply(res, 426, 'WebSocket upgrade required\n');
    reply(res, 404, 'not found\n');
  };

  const onUpgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://x');
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    };
    if (url.pathname !== '/ws') return refuse(404, 'not found\n');
    const mode = url.searchParams.get('mode') ?? 'echo';
    if (mode !== 'echo' && mode !== 'push') return refuse(400, `bad mode: ${mode}\n`);
    if (mode === 'push') {
      const p = parsePushParams(url.searchParams);
      if (typeof p === 'string') return refuse(400, `${p}\n`);
    }
    wss!.handleUpgrade(req, socket, head, (ws) => onWs(ws, socket, url.searchParams));
  };

  return {
    protocol: 'msg',
    async start(ctx) {
      ka = ctx.keepalive ?? {};
      wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: (1 << 20) + 1024 });
      server = http.createServer({ keepAlive: true, keepAliveTimeout: 120_000, requestTimeout: 0 }, onRequest);
      server.keepAliveTimeout = 120_000;
      server.headersTimeout = 130_000;
      server.on('upgrade', onUpgrade);
      server.on('connection', (s: Socket) => {
        stats.connections++;
        s.setNoDelay(true);
        if (ka.tcpKeepaliveMs) s.setKeepAlive(true, ka.tcpKeepaliveMs);
        s.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ETIMEDOUT' && ka.tcpKeepaliveMs) recordDead(s, 'tcp-keepalive');
        });
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      return listenTcp(server, ctx.host);
    },
    stats: () => ({ ...stats, deadPeers: deadPeers.list() }),
    async stop() {
      for (const fn of [...cleanups]) fn();
      cleanups.clear();
      await closeAll(server, sockets);
    },
  };
}
