// Real peers and TLS material for tests and perf: a throwaway CA + server certificate made
// with openssl, and a Caddy (quic-go) instance serving the /bytes/<n> payload files. Every
// command is an argument array; everything binds 127.0.0.1.
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dgram from 'node:dgram';
import type { ChildProcess } from 'node:child_process';
import { haveCommand, run, start } from '../netem/exec.ts';
import { payloadChunks } from '../servers/types.ts';
import { connect } from './client.ts';

export interface TestTls {
  dir: string;
  caPem: string;
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
  servername: string;
}

/** A CA and a leaf for holbench.test, 127.0.0.1 and ::1 (EC P-256, valid 2 days). */
export async function makeTls(dir?: string): Promise<TestTls> {
  const d = dir ?? (await mkdtemp(path.join(tmpdir(), 'h3tls-')));
  const f = (n: string) => path.join(d, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=holbench-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run('openssl', ['req', ...ec, '-keyout', f('key.pem'), '-out', f('leaf.csr'), '-subj', '/CN=holbench.test']);
  await writeFile(f('ext.cnf'), 'subjectAltName=DNS:holbench.test,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  await run('openssl', ['x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('cert.pem'), '-days', '2', '-extfile', f('ext.cnf')]);
  return {
    dir: d,
    caPem: await readFile(f('ca.pem'), 'utf8'),
    key: await readFile(f('key.pem'), 'utf8'),
    cert: await readFile(f('cert.pem'), 'utf8'),
    keyFile: f('key.pem'),
    certFile: f('cert.pem'),
    servername: 'holbench.test',
  };
}

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
