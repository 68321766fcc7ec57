// Test peers for the NAT tests (netem/nat.test.ts), run inside a namespace:
//   server     --host H --port P: TCP and UDP on one port; says which source it sees.
//              TCP line "who" -> "<addr>:<port>"; "wait N" -> after N ms, "late <addr>:<port>".
//              UDP datagram -> "<addr>:<port>".
//   tcp-late   --host --port --idle-ms N: one connection, asks for a reply after N ms of
//              silence; prints {late: bool, error}.
//   tcp-who    --host --port --count C --interval-ms I: one connection, "who" every I ms;
//              prints {sources (in order of first sight), answered, error}.
//   udp-who    --host --port --count C --interval-ms I: a datagram every I ms from one socket;
//              prints {sources, answered}.
// Every client is bounded by its count and a deadline.
import dgram from 'node:dgram';
import net from 'node:net';
import { parseArgs } from 'node:util';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { host: { type: 'string' }, port: { type: 'string' }, 'idle-ms': { type: 'string' }, count: { type: 'string' }, 'interval-ms': { type: 'string' } },
});
const host = values.host!;
const port = Number(values.port);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function server() {
  const srv = net.createServer((s) => {
    const peer = `${s.remoteAddress}:${s.remotePort}`;
    let buf = '';
    s.on('error', () => {});
    s.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'who') s.write(`${peer}\n`);
        const m = /^wait (\d+)$/.exec(line);
        if (m) setTimeout(() => !s.destroyed && s.write(`late ${peer}\n`), Number(m[1]));
      }
    });
  });
  await new Promise<void>((r) => srv.listen(port, host, r));
  const udp = dgram.createSocket('udp4');
  udp.on('message', (_m, ri) => udp.send(`${ri.address}:${ri.port}`, ri.port, ri.address));
  await new Promise<void>((r) => udp.bind(port, host, r));
  process.stdout.write('READY\n');
}

async function tcpLate() {
  const idleMs = Number(values['idle-ms']);
  const s = net.connect(port, host);
  let late = false;
  let error = '';
  s.on('error', (e) => (error = (e as NodeJS.ErrnoException).code ?? e.message));
  s.on('data', (d) => (late ||= d.toString().includes('late')));
  await new Promise((r) => s.once('connect', r));
  s.write(`wait ${idleMs}\n`);
  await sleep(idleMs + 4000);
  s.destroy();
  out({ late, error });
}

async function tcpWho() {
  const count = Number(values.count);
  const intervalMs = Number(values['interval-ms']);
  const s = net.connect(port, host);
  const sources: string[] = [];
  let answered = 0;
  let error = '';
  let buf = '';
  s.on('error', (e) => (error = (e as NodeJS.ErrnoException).code ?? e.message));
  s.on('data', (d) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (answered++ === 0) process.stdout.write('GO\n');
      if (!sources.includes(line)) sources.push(line);
    }
  });
  await new Promise((r) => s.once('connect', r));
  for (let i = 0; i < count && !s.destroyed && !error; i++) {
    s.write('who\n');
    await sleep(intervalMs);
  }
  await sleep(1000);
  s.destroy();
  out({ sources, answered, error });
}

async function udpWho() {
  const count = Number(values.count);
  const intervalMs = Number(values['interval-ms']);
  const u = dgram.createSocket('udp4');
  const sources: string[] = [];
  let answered = 0;
  u.on('message', (m) => {
    if (answered++ === 0) process.stdout.write('GO\n');
    const s = m.toString();
    if (!sources.includes(s)) sources.push(s);
  });
  await new Promise<void>((r) => u.bind(0, r));
  for (let i = 0; i < count; i++) {
    u.send('who', port, host);
    await sleep(intervalMs);
  }
  await sleep(500);
  u.close();
  out({ sources, answered });
}

const modes: Record<string, () => Promise<void>> = { server, 'tcp-late': tcpLate, 'tcp-who': tcpWho, 'udp-who': udpWho };
const fn = modes[positionals[0] ?? ''];
if (!fn) {
  process.stderr.write(`usage: natpeer.ts ${Object.keys(modes).join('|')} ...\n`);
  process.exit(2);
}
await fn();
