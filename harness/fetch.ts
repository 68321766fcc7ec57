// `holbench fetch <url>`: a curl-like probe over HTTP/1.1, HTTP/2 or HTTP/3 using the same
// drivers as the benchmark. For each request: status, bytes, time and the body's sha256.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { driverFor } from './drivers/registry.ts';
import type { RequestHandle } from './records.ts';

const USAGE = `usage: holbench fetch <url> [--protocol h1|h2|h3] [--insecure] [--ca FILE] [-n N] [-c C] [--json]
  --protocol   h1 (HTTP/1.1, over TLS for https://; default for http://), h2 or h3 (default for https://: h2)
  --ca FILE    trust this PEM certificate/CA (default: the system's trust store)
  --insecure   do not verify the server certificate
  -n N         requests in all (default 1);  -c C  concurrent requests (default 1)
  --timeout-ms per-request timeout (default 30000)
`;

export async function fetchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      protocol: { type: 'string' }, insecure: { type: 'boolean' }, ca: { type: 'string' },
      n: { type: 'string', short: 'n', default: '1' }, c: { type: 'string', short: 'c', default: '1' },
      json: { type: 'boolean' }, 'timeout-ms': { type: 'string', default: '30000' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return process.stdout.write(USAGE), 0;
  const bad = (m: string) => (process.stderr.write(`holbench fetch: ${m}\n\n${USAGE}`), 2);
  if (positionals.length !== 1) return bad('expected exactly one URL');
  let url: URL;
  try {
    url = new URL(positionals[0]!);
  } catch {
    return bad(`not a URL: ${positionals[0]}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return bad('url: only http:// and https://');
  const proto = values.protocol ?? (url.protocol === 'http:' ? 'h1' : 'h2');
  if (!['h1', 'h2', 'h3'].includes(proto)) return bad(`--protocol: expected h1, h2 or h3, got "${proto}"`);
  if (proto !== 'h1' && url.protocol !== 'https:') return bad(`--protocol ${proto} needs an https:// URL`);
  const n = Number(values.n);
  const c = Number(values.c);
  if (!(Number.isInteger(n) && n >= 1 && n <= 100_000)) return bad('-n: expected an integer from 1 to 100000');
  if (!(Number.isInteger(c) && c >= 1 && c <= 1000)) return bad('-c: expected an integer from 1 to 1000');
  const caPem = values.ca ? await readFile(values.ca, 'utf8') : undefined;
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const factory = await driverFor(proto === 'h1' ? 'http1.1' : proto);
  const driver = await factory({
    target: { host, port, tls: url.protocol === 'https:', caPem, servername: /^[\d.:]+$/.test(host) ? undefined : host, insecure: Boolean(values.insecure) },
    connections: proto === 'h1' ? c : 1,
    requestTimeoutMs: Number(values['timeout-ms']),
  });
  const path = url.pathname + url.search;
  let next = 0;
  let failed = 0;
  const results: object[] = [];
  const one = async (i: number) => {
    const hash = createHash('sha256');
    const t0 = performance.now();
    let status = 0;
    let bytes = 0;
    let error = '';
    let ids = { connId: '', streamId: '' as string | number };
    const h: RequestHandle = {
      reqId: i,
      headers: (s, id) => ((status = s), (ids = id)),
      data: (b, chunk) => {
        bytes += b;
        if (chunk) hash.update(chunk);
      },
      end: () => {},
      fail: (e) => (error = String((e as Error)?.message ?? e)),
    };
    await driver.get(path, h);
    const r = { i, status, bytes, ms: Math.round((performance.now() - t0) * 1000) / 1000, sha256: hash.digest('hex'), conn: ids.connId, stream: ids.streamId, error };
    if (error || status >= 400 || status === 0) failed++;
    results.push(r);
    if (!values.json) process.stdout.write(error ? `#${i} ERROR ${error}\n` : `#${i} ${status} ${bytes} bytes ${r.ms} ms sha256=${r.sha256} conn=${r.conn} stream=${r.stream}\n`);
  };
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) await one(next++);
    }),
  );
  await driver.close();
  if (values.json) process.stdout.write(JSON.stringify({ protocol: proto, url: url.href, connections: driver.connectionsOpened(), results }, null, 2) + '\n');
  return failed ? 1 : 0;
}
