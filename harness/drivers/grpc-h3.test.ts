// gRPC over HTTP/3 on loopback: our framing against grpc-js's, byte for byte, and the gRPC
// semantics the h3 plugin promises (servers/grpc-h3.ts): status in trailers, deadline ->
// DEADLINE_EXCEEDED, unknown method -> UNIMPLEMENTED, metadata echo.
//  - request frames: grpc-js's client talks to a node:http2 h2c tap that records the request
//    bodies; our GrpcH3Channel sends the same calls to an HTTP/3 tap; the bodies must match;
//  - response frames: the same request bytes go to grpc-js's server (servers/grpc.ts, h2c)
//    and to our h3 plugin; the response bodies and grpc-status must match.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { h3Support } from '../../h3/binding.ts';
import { listen, PushBody, type H3Server } from '../../h3/index.ts';
import { makeCert, SERVER_NAME, type RunCert } from '../../servers/cert.ts';
import { GRPC_PROTO, grpcPlugin } from '../../servers/grpc.ts';
import { h3Plugin } from '../../servers/h3.ts';
import { encodeGrpcFrame, GRPC_SERVICE, GRPC_STATUS, grpcMethods } from '../../servers/grpc-wire.ts';
import type { ServerPlugin } from '../../servers/types.ts';
import { GrpcH3Channel, type GrpcStatus } from './grpc-h3-channel.ts';

const HOST = '127.0.0.1';
const skip = h3Support().ok ? false : `h3 unsupported: ${h3Support().reason}`;

/** The calls both clients make: method, request messages (Chat/Upload: several). */
const CALLS: { method: string; requests: object[] }[] = [
  { method: 'Echo', requests: [{ data: '1 1700000000000.000 hello' }] },
  { method: 'Echo', requests: [{ data: '' }] },
  { method: 'Echo', requests: [{ data: 'é ü ' + 'x'.repeat(300) }] },
  { method: 'Chat', requests: [{ data: 'a' }, { data: 'bb' }, { data: 'x'.repeat(70_000) }] },
  { method: 'Push', requests: [{ stream: 's1', count: 3, interval_ms: 2.5, bytes: 64, after: 1 }] },
  { method: 'Upload', requests: [{ data: '1 2 xx' }, { data: '2 3 yy' }] },
];

/** What grpc-js's client puts in the request body of each call (via an h2c tap). */
async function grpcJsRequestBodies(): Promise<Buffer[]> {
  const bodies: Buffer[] = [];
  const tap = http2.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/grpc' });
      res.addTrailers({ 'grpc-status': String(GRPC_STATUS.UNIMPLEMENTED), 'grpc-message': 'tap' });
      res.end();
    });
  });
  await new Promise<void>((r) => tap.listen(0, HOST, r));
  const def = protoLoader.loadSync(GRPC_PROTO, { keepCase: true, longs: Number, defaults: true });
  const Messages = (grpc.loadPackageDefinition(def) as unknown as { holbench: { Messages: grpc.ServiceClientConstructor } }).holbench.Messages;
  const client = new Messages(`${HOST}:${(tap.address() as AddressInfo).port}`, grpc.credentials.createInsecure()) as unknown as Record<string, (...a: unknown[]) => grpc.ClientWritableStream<object> & grpc.ClientReadableStream<object>>;
  try {
    for (const c of CALLS) {
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        if (c.method === 'Echo') client.Echo!(c.requests[0], done);
        else if (c.method === 'Push') {
          const s = client.Push!(c.requests[0]);
          s.on('error', done);
          s.on('data', () => {});
        } else if (c.method === 'Upload') {
          const s = client.Upload!(done);
          for (const r of c.requests) s.write(r);
          s.end();
        } else {
          const s = client.Chat!();
          s.on('error', done);
          s.on('data', () => {});
          for (const r of c.requests) s.write(r);
          s.end();
        }
      });
    }
  } finally {
    client.close();
    await new Promise((r) => tap.close(r));
  }
  return bodies;
}

/** One call on our channel: status, response messages (raw protobuf bytes), headers. */
function ourCall(ch: GrpcH3Channel, method: string, requests: Buffer[], o: { deadlineMs?: number; metadata?: Record<string, string>; end?: boolean } = {}): Promise<{ status: GrpcStatus; messages: Buffer[]; headers: Record<string, string> | null }> {
  return new Promise((resolve) => {
    const messages: Buffer[] = [];
    let headers: Record<string, string> | null = null;
    const call = ch.call(method.startsWith('/') ? method : GRPC_SERVICE + method, o, {
      onHeaders: (h) => (headers = h),
      onMessage: (m) => messages.push(Buffer.from(m)),
      onStatus: (status) => resolve({ status, messages, headers }),
    });
    for (const r of requests) call.write(r);
    if (o.end !== false) call.end();
  });
}

/** POST `body` to a grpc-js server over h2c; the response body and trailers. */
function h2cCall(port: number, method: string, body: Buffer): Promise<{ body: Buffer; status: string | undefined }> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://${HOST}:${port}`);
    s.on('error', reject);
    const req = s.request({ ':method': 'POST', ':path': GRPC_SERVICE + method, 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    req.on('response', (h) => (status ??= h['grpc-status'] as string | undefined)); // Trailers-Only
    req.on('trailers', (t) => (status = t['grpc-status'] as string | undefined));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => (s.close(), resolve({ body: Buffer.concat(chunks), status })));
    req.on('error', reject);
    req.end(body);
  });
}

describe('grpc-h3 wire format and semantics', { skip, timeout: 90_000 }, () => {
  let cert: RunCert;
  let h3: ServerPlugin;
  let h3Port = 0;
  let ch: GrpcH3Channel;
  const m = grpcMethods();
  const ser = (method: string, v: object) => m.get(GRPC_SERVICE + method)!.requestSerialize(v);

  before(async () => {
    cert = await makeCert(HOST);
    h3 = h3Plugin();
    ({ port: h3Port } = await h3.start({ host: HOST, tls: cert }));
    ch = await GrpcH3Channel.create({ target: { host: HOST, port: h3Port, caPem: cert.cert, servername: SERVER_NAME }, keepalive: {}, handshakeTimeoutMs: 5000 });
  });
  after(async () => {
    await ch?.close();
    await h3?.stop();
  });

  it('request frames: byte-identical to what grpc-js sends, for every call kind', async () => {
    const theirs = await grpcJsRequestBodies();
    assert.equal(theirs.length, CALLS.length, 'grpc-js made every call');
    // our channel, against an HTTP/3 tap that records request bodies
    const bodies: Buffer[] = [];
    const tap: H3Server = await listen(HOST, 0, { key: cert.key, cert: cert.cert }, (req) => {
      const out = new PushBody();
      const chunks: Buffer[] = [];
      req.readBody({ data: (c) => chunks.push(Buffer.from(c)), end: () => (bodies.push(Buffer.concat(chunks)), out.end({ 'grpc-status': '12' })) });
      return { status: 200, headers: { 'content-type': 'application/grpc' }, body: out };
    });
    const tapCh = await GrpcH3Channel.create({ target: { host: HOST, port: tap.port, caPem: cert.cert, servername: SERVER_NAME }, keepalive: {}, handshakeTimeoutMs: 5000 });
    try {
      for (const c of CALLS) {
        const r = await ourCall(tapCh, c.method, c.requests.map((q) => ser(c.method, q)));
        assert.equal(r.status.code, GRPC_STATUS.UNIMPLEMENTED, `${c.method}: the tap's status arrives from the trailers`);
      }
    } finally {
      await tapCh.close();
      await tap.close(200);
    }
    assert.equal(bodies.length, CALLS.length);
    for (const [i, c] of CALLS.entries()) {
      assert.ok(theirs[i]!.length >= 5 * c.requests.length, `${c.method}: grpc-js body has ${c.requests.length} frame(s)`);
      assert.ok(bodies[i]!.equals(theirs[i]!), `${c.method} #${i}: ours ${bodies[i]!.subarray(0, 16).toString('hex')}… (${bodies[i]!.length} B) vs grpc-js ${theirs[i]!.subarray(0, 16).toString('hex')}… (${theirs[i]!.length} B)`);
    }
  });

  it('response frames: byte-identical to what grpc-js\'s server answers (Echo, Chat), grpc-status 0 in trailers', async () => {
    const js = grpcPlugin();
    const { port } = await js.start({ host: HOST, tls: cert });
    try {
      for (const c of CALLS.filter((x) => x.method === 'Echo' || x.method === 'Chat')) {
        const frames = c.requests.map((q) => ser(c.method, q));
        const theirs = await h2cCall(port, c.method, Buffer.concat(frames.map(encodeGrpcFrame)));
        const ours = await ourCall(ch, c.method, frames);
        assert.equal(theirs.status, '0', `grpc-js ${c.method}`);
        assert.equal(ours.status.code, GRPC_STATUS.OK, `${c.method}: ${ours.status.details}`);
        assert.equal(ours.messages.length, c.requests.length, `${c.method} answers every message`);
        const oursBody = Buffer.concat(ours.messages.map(encodeGrpcFrame));
        assert.ok(oursBody.equals(theirs.body), `${c.method}: ${oursBody.length} B vs grpc-js ${theirs.body.length} B`);
      }
    } finally {
      await js.stop();
    }
  });

  it('deadline -> DEADLINE_EXCEEDED from the server (grpc-timeout), unknown method -> UNIMPLEMENTED, x-holbench-* metadata echoed', async () => {
    // a push stream due to last ~10 s, with a 300 ms grpc-timeout; the client's own timer is
    // set later (5 s) so the status must be the server's, from the trailers
    const push = ser('Push', { stream: `dl-${Date.now()}`, count: 10, interval_ms: 1000, bytes: 64, after: 0 });
    const viaServer = await new Promise<{ status: GrpcStatus; messages: number; tMs: number }>((resolve) => {
      const t0 = Date.now();
      let messages = 0;
      // grpc-timeout is what the client sends; the client's local timer (deadlineMs) is longer
      const call = ch.call(GRPC_SERVICE + 'Push', { deadlineMs: 5000, metadata: { 'grpc-timeout': '300m' } }, {
        onMessage: () => messages++,
        onStatus: (status) => resolve({ status, messages, tMs: Date.now() - t0 }),
      });
      call.write(push);
      call.end();
    });
    assert.equal(viaServer.status.code, GRPC_STATUS.DEADLINE_EXCEEDED, `${viaServer.status.details} after ${viaServer.tMs} ms`);
    assert.match(viaServer.status.details, /300m/, 'the server said so (its grpc-message names the timeout)');
    assert.equal(viaServer.messages, 1, 'the first message (due at once) arrived, the rest were cut off');
    assert.ok(viaServer.tMs < 4000, `ended at ${viaServer.tMs} ms, before the client's own 5 s timer`);

    // the client's own deadline on a call the server would not end in time
    const local = await ourCall(ch, 'Chat', [ser('Chat', { data: 'x' })], { deadlineMs: 300, end: false });
    assert.equal(local.status.code, GRPC_STATUS.DEADLINE_EXCEEDED);

    const unknown = await ourCall(ch, '/holbench.Messages/Nope', [ser('Echo', { data: 'x' })]);
    assert.equal(unknown.status.code, GRPC_STATUS.UNIMPLEMENTED, unknown.status.details);
    const otherService = await ourCall(ch, '/other.Svc/Echo', [ser('Echo', { data: 'x' })]);
    assert.equal(otherService.status.code, GRPC_STATUS.UNIMPLEMENTED);

    const md = await ourCall(ch, 'Echo', [ser('Echo', { data: 'md' })], { metadata: { 'x-holbench-trace': 'abc 123', 'x-other': 'no' } });
    assert.equal(md.status.code, GRPC_STATUS.OK);
    assert.equal(md.headers?.['x-holbench-trace'], 'abc 123');
    assert.equal(md.headers?.['x-other'], undefined);
    assert.equal(md.headers?.['content-type'], 'application/grpc');
  });
});
