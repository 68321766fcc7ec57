// `npm run truth`: does the harness reproduce what the literature and theory say?
//
//   npm run truth [-- --quick] [-- --json] [-- --only pages,T4] [-- --out DIR]
//
// Groups of checks (harness/perf/truth/):
//   pages  page loads through the real pipeline: h2 ~ h3 at 0% loss, CV at 0% loss,
//          h2 co-stall and HoL stall index above h3's at 2% loss (pages.ts)
//   T1     handshakes: cold TTFB(h2) - TTFB(h3) = one RTT, h3 0-RTT saves one more (t1.ts)
//   T2     loss sweep after Liu et al. 2024: h3/h2 page time does not rise with loss, h3
//          ahead at >= 4% (t2.ts)
//   T3     the server's scheduler: sequential gives h2 and h3 the same order and spread;
//          round-robin raises h2's HoL stall index at 2% loss, h3's stays ~0 (t3.ts)
//   T4     steady-state TCP Reno goodput under 1% and 2% random loss against Mathis et al.
//          (1997) and PFTK (SIGCOMM'98), CUBIC for information (t4.ts)
//   T5     real peers: scenarios/cross-check.yaml; h3 ahead of h2 at 2% loss for all four
//          (client, server) pairs of holbench/Chromium and holbench/Caddy (peers.ts)
// Each line prints the measured value, the reference (published or model) value and its
// source. Results go to results/truth-<stamp>/. Exit 1 when a judged check fails or has no
// data; `--quick` uses fewer repetitions and shorter transfers.
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { installSignalHandlers } from '../../proc/lifecycle.ts';
import type { Check } from './truth/check.ts';
import { runPageChecks } from './truth/pages.ts';
import { runT4 } from './truth/t4.ts';
import { runT1 } from './truth/t1.ts';
import { runT3 } from './truth/t3.ts';
import { runT2 } from './truth/t2.ts';
import { runPeers } from './truth/peers.ts';

interface GroupCtx {
  quick: boolean;
  outRoot: string;
}

const GROUPS: Record<string, (c: GroupCtx) => Promise<Check[]>> = {
  pages: (c) => runPageChecks({ quick: c.quick, outRoot: c.outRoot }),
  T1: (c) => runT1({ quick: c.quick, outRoot: c.outRoot }),
  T2: (c) => runT2({ quick: c.quick, outRoot: c.outRoot }),
  T3: (c) => runT3({ quick: c.quick, outRoot: c.outRoot }),
  T4: (c) => runT4({ quick: c.quick, outDir: join(c.outRoot, 'T4') }, (m) => process.stderr.write(`  ${m}\n`)),
  T5: (c) => runPeers({ outRoot: c.outRoot }),
};

function label(c: Check): string {
  if (c.info) return 'INFO   ';
  return c.pass === null ? 'NO DATA' : c.pass ? 'PASS   ' : 'FAIL   ';
}

async function main() {
  const { values } = parseArgs({ options: { json: { type: 'boolean' }, quick: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' } } });
  const only = values.only === undefined ? Object.keys(GROUPS) : values.only.split(',').map((s) => s.trim());
  const unknown = only.filter((g) => !(g in GROUPS));
  if (unknown.length || !only.length) {
    process.stderr.write(`truth: --only: unknown group ${unknown.map((u) => `"${u}"`).join(', ') || '(empty)'}; groups: ${Object.keys(GROUPS).join(', ')}\n`);
    process.exit(2);
  }
  installSignalHandlers();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const outRoot = resolve(values.out ?? 'results', `truth-${stamp}`);
  const checks: Check[] = [];
  for (const g of only) checks.push(...(await GROUPS[g]!({ quick: !!values.quick, outRoot })));

  if (values.json) process.stdout.write(JSON.stringify({ results: outRoot, checks }, null, 2) + '\n');
  else {
    for (const c of checks) {
      process.stdout.write(`${label(c)} ${c.name}\n          measured:  ${c.measured}\n`);
      if (c.reference) process.stdout.write(`          reference: ${c.reference}\n`);
      if (c.source) process.stdout.write(`          source:    ${c.source}\n`);
      process.stdout.write(`          criterion: ${c.expectation}\n`);
    }
    process.stdout.write(`results: ${outRoot}\n`);
  }
  process.exitCode = checks.every((c) => c.info || c.pass) ? 0 : 1;
}

void main().catch((e) => {
  process.stderr.write(`truth: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
