// Real peers for tests and perf: a Caddy (quic-go) instance serving the /bytes/<n> payload files. Every
// command is an argument array; everything binds 127.0.0.1.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dgram from 'node:dgram';
import type { ChildProcess } from 'node:child_process';
import { haveCommand, start } from '../proc/exec.ts';
import { payloadChunks } from '../servers/payload.ts';
import type { TestTls } from '../h3/testdata/tls.ts';
export { makeTls, type TestTls } from '../h3/testdata/tls.ts';
import { connect } from '../h3/client.ts';

/** A UDP (and, for Caddy, TCP) port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

export interface CaddyPeer {
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Start Caddy serving www/bytes/<n> for each size, HTTP/3 on 127.0.0.1:port. */
export async function startCaddy(tls: TestTls, sizes: number[]): Promise<CaddyPeer> {
  if (!(await haveCommand('caddy'))) throw new Error('caddy not installed');
  const d = await mkdtemp(path.join(tmpdir(), 'h3caddy-'));
  const www = path.join(d, 'www', 'bytes');
  await mkdir(www, { recursive: true });
  for (const n of sizes) await writeFile(path.join(www, String(n)), (function* () { yield* payloadChunks(n); })());
  for (const x of ['home', 'data', 'config']) await mkdir(path.join(d, x));
  const port = await freePort();
  const caddyfile = [
    '{',
    '\tadmin off',
    '\tauto_https disable_redirects',
    '\tskip_install_trust',
    '\tservers {',
    '\t\tprotocols h1 h2 h3',
    '\t}',
    '}',
    `https://holbench.test:${port} {`,
    '\tbind 127.0.0.1',
    `\ttls ${tls.certFile} ${tls.keyFile}`,
    `\troot * ${path.join(d, 'www')}`,
    '\tfile_server',
    '}',
    '',
  ].join('\n');
  const cf = path.join(d, 'Caddyfile');
  await writeFile(cf, caddyfile);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.join(d, 'home'), XDG_DATA_HOME: path.join(d, 'data'), XDG_CONFIG_HOME: path.join(d, 'config') };
  const proc = start('caddy', ['run', '--config', cf, '--adapter', 'caddyfile'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await new Promise<void>((r) => {
        const t = setTimeout(() => (proc.kill('SIGKILL'), r()), 3000);
        proc.once('exit', () => (clearTimeout(t), r()));
      });
    }
    await rm(d, { recursive: true, force: true });
  };
  // Ready when an HTTP/3 handshake succeeds (bounded: 30 attempts).
  for (let i = 0; i < 30; i++) {
    if (proc.exitCode !== null) {
      await stop();
      throw new Error(`caddy exited (${proc.exitCode}): ${stderr}`);
    }
    try {
      const c = await connect('127.0.0.1', port, { servername: tls.servername, caPem: tls.caPem, handshakeTimeoutMs: 500 });
      await c.close();
      return { port, proc, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await stop();
  throw new Error(`caddy did not come up on ${port}: ${stderr}`);
}
