// Provenance recorded with every run (run.json): what produced these numbers.
import { readFileSync } from 'node:fs';
import { release, hostname, cpus, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { run } from '../proc/exec.ts';

const require = createRequire(import.meta.url);
const DEPS = ['undici', 'ws', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'autocannon', '@matrixai/quic', 'vega', 'vega-lite', 'zod', 'hdr-histogram-js'];

function pkgVersion(name: string): string | null {
  try {
    const main = require.resolve(`${name}/package.json`);
    return JSON.parse(readFileSync(main, 'utf8')).version;
  } catch {
    try {
      // packages whose exports map hides package.json: walk up from the entry point
      let dir = require.resolve(name);
      for (let i = 0; i < 6; i++) {
        dir = dir.slice(0, dir.lastIndexOf('/'));
        try {
          const p = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
          if (p.name === name) return p.version;
        } catch {
          /* keep walking */
        }
      }
    } catch {
      /* not installed */
    }
    return null;
  }
}

async function toolVersion(cmd: string, args: string[]): Promise<string | null> {
  const r = await run(cmd, args, { allowFail: true, timeoutMs: 5000 });
  return r.exitCode === 0 ? (r.stdout || r.stderr).split('\n')[0]!.trim() : null;
}

/** The checkout's git commit, with `+dirty` when tracked files differ from it; null outside a
 *  git checkout (an image built without .git). package.json's version does not change between
 *  commits, so this is what tells two builds apart (merge refuses shards of different sources). */
async function sourceRevision(): Promise<string | null> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const head = await run('git', ['-C', root, 'rev-parse', 'HEAD'], { allowFail: true, timeoutMs: 5000 });
  if (head.exitCode !== 0) return null;
  const st = await run('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { allowFail: true, timeoutMs: 10_000 });
  return head.stdout.trim() + (st.exitCode === 0 && st.stdout.trim() ? '+dirty' : '');
}

export async function collectVersions(): Promise<Record<string, string | null>> {
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
  const v: Record<string, string | null> = { holbench: own, node: process.version };
  for (const d of DEPS) v[d] = pkgVersion(d);
  v.holbench_source = await sourceRevision();
  v.iproute2 = await toolVersion('ip', ['-V']);
  v.iptables = await toolVersion('iptables', ['--version']);
  v.openssl = await toolVersion('openssl', ['version']);
  return v;
}

/** The host's 1/5/15-minute load averages now (os.loadavg(), 2 decimals). Our servers and
 *  drivers are single-threaded JavaScript: on a busy machine their page times inflate far more
 *  than a native server's (README "Page time at 0% loss"), so a run records the load it met. */
export function loadAvg(): [number, number, number] {
  const [a = 0, b = 0, c = 0] = loadavg();
  return [a, b, c].map((x) => Math.round(x * 100) / 100) as [number, number, number];
}

export function machine() {
  return { kernel: release(), hostname: hostname(), cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '' };
}

/** JSON with object keys sorted at every level: the same value gives the same text. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** run.json `scenario_sha256`: SHA-256 of the scenario as parsed and normalized by the
 *  schema (canonical JSON, keys sorted), so comments, key order, quoting and the file's
 *  path do not change it, while any value that configures the run does. `holbench merge`
 *  refuses shards whose hashes differ. */
export function scenarioHash(scenario: unknown): string {
  return createHash('sha256').update(canonicalJson(scenario), 'utf8').digest('hex');
}
