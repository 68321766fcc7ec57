// Test fixture (grpc.test.ts): a plain grpc-js client, independent of our driver,
// with client keepalive on. argv: host port. Calls Echo once and Push (5 messages) and
// prints {"echo": <reply data>, "push": [seq...], "status": <Push status code>}.
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { decodeMessage, encodeMessage } from '../../../contract/messages.ts';

const [host, port] = process.argv.slice(2);
const proto = fileURLToPath(new URL('../../../servers/holbench.proto', import.meta.url));
const def = protoLoader.loadSync(proto, { keepCase: true, longs: Number, defaults: true });
const pkg = grpc.loadPackageDefinition(def) as any;
const client = new pkg.holbench.Messages(`${host}:${port}`, grpc.credentials.createInsecure(), {
  'grpc.keepalive_time_ms': 1000,
  'grpc.keepalive_timeout_ms': 1000,
  'grpc.keepalive_permit_without_calls': 1,
});
const deadline = () => Date.now() + 10_000;

const echo = await new Promise<string>((resolve, reject) =>
  client.Echo({ data: encodeMessage(7, 64) }, { deadline: deadline() }, (err: Error | null, res: { data: string }) => (err ? reject(err) : resolve(res.data))),
);
const push: number[] = [];
const status = await new Promise<number>((resolve) => {
  const call = client.Push({ stream: `plain-${process.pid}`, count: 5, interval_ms: 20, bytes: 40, after: 0 }, { deadline: deadline() });
  call.on('data', (m: { data: string }) => push.push(decodeMessage(m.data)?.seq ?? -1));
  call.on('error', () => {});
  call.on('status', (s: { code: number }) => resolve(s.code));
});
client.close();
process.stdout.write(JSON.stringify({ echo, push, status }) + '\n');
