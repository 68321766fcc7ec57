// T5, real peers (issue 14's cross-check as a judged benchmark): scenarios/cross-check.yaml
// as shipped (loss-2pct's page and path, 0% and 2% loss, h2 and h3 for the four (client,
// server) pairs: holbench or Chromium, holbench server or Caddy). At 2% loss every pair must
// show h3 ahead of h2 (the paired interval of (h3 - h2) / h2 wholly below 0), as our own
// pair does: if the direction held only for our client and server it would be an artefact
// of our stacks. The 0% loss changes are printed for information (they differ by a few
// percent with the peers' initial windows and pacing: README "Cross-check").
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { pairedRelChangeCi95 } from '../../metrics.ts';
import type { SummaryRow } from '../../summary.ts';
import { fmt as f, type Check } from './check.ts';
import { runScenario } from './pages.ts';

export const CROSS_CHECK_FILE = new URL('../../../scenarios/cross-check.yaml', import.meta.url).pathname;

/** The (client, server) pair of a label: what follows the protocol ('' = holbench, holbench). */
export const pairOf = (label: string) => label.slice(label.indexOf('@') < 0 ? label.length : label.indexOf('@'));
const protoOf = (label: string) => label.slice(0, label.length - pairOf(label).length);

export interface PairChange { pair: string; estimate: number; lo: number; hi: number; n: number }

/** Per (client, server) pair, the paired change of page time (h3 - h2) / h2 at one loss. */
export function changesByPair(rows: readonly SummaryRow[], loss: number): PairChange[] {
  const at = rows.filter((r) => r.loss_pct === loss && r.status === 'SUCCEEDED' && r.page_ms !== null);
  const pairs = [...new Set(rows.map((r) => pairOf(r.protocol)))];
  return pairs.map((pair) => {
    const times = (p: string) => new Map(at.filter((r) => pairOf(r.protocol) === pair && protoOf(r.protocol) === p).map((r) => [r.rep, r.page_ms!]));
    const [h2, h3] = [times('h2'), times('h3')];
    const reps = [...h2.keys()].filter((k) => h3.has(k)).sort((a, b) => a - b);
    return { pair, ...pairedRelChangeCi95(reps.map((k) => h2.get(k)!), reps.map((k) => h3.get(k)!)) };
  });
}

const pairName = (p: string) => {
  const client = p.includes('@chromium') ? 'Chromium' : 'holbench';
  const server = p.replace('@chromium', '') || '@holbench';
  return `${client}/${server.slice(1)}`;
};
const pct = (x: number) => `${x >= 0 ? '+' : ''}${f(100 * x, 1)}%`;
const show = (c: PairChange) => `${pairName(c.pair)} ${pct(c.estimate)} [${pct(c.lo)}, ${pct(c.hi)}] n=${c.n}`;

export async function runPeers(o: { outRoot: string }): Promise<Check[]> {
  const scenario = YAML.parse(await readFile(CROSS_CHECK_FILE, 'utf8')) as Record<string, unknown>;
  const rows = await runScenario('truth-peers', scenario, o.outRoot);
  const lossy = changesByPair(rows, 2);
  const ahead = lossy.filter((c) => c.hi < 0);
  return [
    {
      group: 'T5',
      name: 'T5 real peers: h3 ahead of h2 at 2% loss for all four (client, server) pairs',
      expectation: 'paired change (h3 - h2)/h2 at 2% loss: the whole 95% interval < 0 for holbench/holbench, Chromium/holbench, holbench/caddy, Chromium/caddy',
      measured: lossy.map(show).join('; '),
      reference: 'the direction our own pair shows, reproduced by a browser and a production server',
      source: 'scenarios/cross-check.yaml; Chromium (Debian) and Caddy (quic-go) as independent implementations of both ends',
      pass: lossy.length === 4 && lossy.every((c) => c.n >= 2) ? ahead.length === 4 : null,
    },
    {
      group: 'T5',
      name: 'T5 real peers at 0% loss (information)',
      expectation: 'printed, not judged: within a few percent, set by initial windows and pacing',
      measured: changesByPair(rows, 0).map(show).join('; '),
      pass: true,
      info: true,
    },
  ];
}
