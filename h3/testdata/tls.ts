// TLS material for tests and tools: a throwaway CA and a server certificate for
// holbench.test, 127.0.0.1 and ::1, made with openssl (argument arrays, no shell).
import { mkdtemp, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../../proc/exec.ts';

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

