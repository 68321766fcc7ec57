// A certificate generated per run with openssl (P-256, 7 days), valid for the name
// holbench.test and the server's address. Clients trust exactly this certificate.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../proc/exec.ts';

export const SERVER_NAME = 'holbench.test';

export interface RunCert {
  key: string;
  cert: string;
}

export async function makeCert(ip: string): Promise<RunCert> {
  const dir = await mkdtemp(join(tmpdir(), 'holbench-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '7', '-subj', `/CN=${SERVER_NAME}`,
      '-addext', `subjectAltName=DNS:${SERVER_NAME},IP:${ip},IP:127.0.0.1`,
    ]);
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
