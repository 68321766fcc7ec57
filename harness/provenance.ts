// Provenance recorded with every run (run.json): what produced these numbers.
import { readFileSync } from 'node:fs';
import { release, hostname, cpus } from 'node:os';
import { createRequire } from 'node:module';
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

export async function collectVersions(): Promise<Record<string, string | null>> {
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
  const v: Record<string, string | null> = { holbench: own, node: process.version };
  for (const d of DEPS) v[d] = pkgVersion(d);
  v.iproute2 = await toolVersion('ip', ['-V']);
  v.iptables = await toolVersion('iptables', ['--version']);
  v.openssl = await toolVersion('openssl', ['version']);
  return v;
}

export function machine() {
  return { kernel: release(), hostname: hostname(), cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '' };
}
