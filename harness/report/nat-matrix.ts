// The NAT idle-timeout matrix across runs: one row per run (its keepalive settings, from
// run.json), one column per protocol, each cell the outcome of the run's messages jobs
// (survived / late / reconnected / lost, harness/report/charts/nat.ts natOutcome). One run
// has one keepalive setting (the servers take it at start), so comparing settings means
// comparing runs: e.g. the nat-idle, nat-idle-ping8s and nat-idle-ping2s scenarios.
//
//   npx tsx harness/report/nat-matrix.ts <results dir>... --out DIR
//
// Writes DIR/nat-matrix.{vl.json,svg,png,csv}. Exit 2 on bad input (naming the argument):
// a folder that is not a results folder, a run without nat:, or one without messages jobs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadResults, type SummaryRow } from './load.ts';
import { base } from './charts/common.ts';
import { LATE_MS, NAT_OUTCOMES, natOutcome } from './charts/nat.ts';
import { compileVegaLite, svgToPng, vegaToSvg } from './render.ts';
import { sortProtocols } from './labels.ts';

const KEEPALIVE_NAMES: Record<string, string> = {
  ping_ms: 'ping', heartbeat_ms: 'heartbeat', hold_ms: 'poll hold', tcp_keepalive_ms: 'TCP keepalive', quic_idle_timeout_ms: 'QUIC idle',
};

/** "ping 2000 ms, heartbeat 2000 ms, ..." or "keepalive off" (retry_ms is not a keepalive). */
export function keepaliveLabel(k: Record<string, unknown> | undefined): string {
  const parts = Object.entries(k ?? {})
    .filter(([key, v]) => key in KEEPALIVE_NAMES && typeof v === 'number')
    .map(([key, v]) => `${KEEPALIVE_NAMES[key]} ${v} ms`);
  return parts.length ? parts.join(', ') : 'keepalive off';
}

export interface MatrixRun {
  label: string;
  nat: string;
  rows: SummaryRow[];
}

export class MatrixInputError extends Error {}

export function loadMatrixRun(dir: string): MatrixRun {
  let res;
  try {
    res = loadResults(resolve(dir), basename(resolve(dir)));
  } catch (e) {
    throw new MatrixInputError(`${dir}: not a results folder (${(e as Error).message})`);
  }
  const run = res.run as { nat?: { description?: string }; scenario?: { name?: string; workload?: { kind?: string; keepalive?: Record<string, unknown> } } };
  if (!run.nat) throw new MatrixInputError(`${dir}: run.json has no nat (the scenario had no nat:)`);
  const rows = res.summary.filter((r) => r.workload === 'messages' && r.status !== 'UNSUPPORTED');
  if (!rows.length) throw new MatrixInputError(`${dir}: no messages jobs (the matrix is for NAT idle runs)`);
  return { label: `${run.scenario?.name ?? basename(dir)}: ${keepaliveLabel(run.scenario?.workload?.keepalive)}`, nat: run.nat.description ?? 'NAT', rows };
}

export function matrixSpec(runs: MatrixRun[]): { spec: Record<string, unknown>; csv: string } {
  const protocols = sortProtocols(runs.flatMap((r) => r.rows.map((x) => x.protocol)));
  const values = runs.flatMap((run) =>
    protocols.flatMap((p) => {
      const rs = run.rows.filter((r) => r.protocol === p);
      if (!rs.length) return [];
      const outs = rs.map(natOutcome);
      // the worst outcome over repetitions colours the cell; the text lists all
      const worst = NAT_OUTCOMES[Math.max(...outs.map((o) => NAT_OUTCOMES.indexOf(o)))]!;
      const sum = (f: (r: SummaryRow) => number | null) => rs.reduce((a, r) => a + (f(r) ?? 0), 0);
      const p99 = Math.max(...rs.map((r) => r.msg_p99_ms ?? 0));
      return [{
        run: run.label, protocol: p, outcome: worst, reps: rs.length,
        text: `${sum((r) => r.msgs_received)}/${sum((r) => r.msgs_received) + sum((r) => r.msgs_lost)} msgs`,
        text2: `${sum((r) => r.reconnects)} reconn, p99 ${p99 >= 1000 ? `${(p99 / 1000).toFixed(1)} s` : `${Math.round(p99)} ms`}`,
        outcomes: outs.join(' '),
      }];
    }),
  );
  const colors = ['#2ca25f', '#fdae61', '#74add1', '#d7191c'];
  const spec = {
    ...base(`NAT idle timeout: which push protocols keep their messages — ${runs[0]!.nat}`, [
      'one row per run (its keepalive settings); the worst outcome over its repetitions:',
      `survived (all on time), late (p99 > ${LATE_MS} ms), reconnected (the channel died and was re-opened), lost (a message never arrived)`,
    ]),
    data: { values },
    width: 110 * protocols.length,
    height: 46 * runs.length,
    encoding: {
      x: { field: 'protocol', type: 'nominal', sort: protocols, title: null, axis: { orient: 'top', labelAngle: 0 } },
      y: { field: 'run', type: 'nominal', sort: runs.map((r) => r.label), title: null, axis: { labelLimit: 420 } },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 2 },
        encoding: {
          color: { field: 'outcome', type: 'nominal', scale: { domain: [...NAT_OUTCOMES], range: colors }, legend: { orient: 'bottom', direction: 'horizontal', title: 'outcome' } },
          tooltip: [{ field: 'run' }, { field: 'protocol' }, { field: 'outcomes', title: 'per repetition' }, { field: 'text' }, { field: 'text2' }],
        },
      },
      { mark: { type: 'text', dy: -7, fontSize: 10, color: '#111' }, encoding: { text: { field: 'text' } } },
      { mark: { type: 'text', dy: 7, fontSize: 9, color: '#111' }, encoding: { text: { field: 'text2' } } },
    ],
  };
  const csv = ['run,protocol,outcome,reps,messages,detail', ...values.map((v) => [v.run, v.protocol, v.outcome, v.reps, v.text, v.text2].map((x) => `"${String(x).replace(/"/g, '""')}"`).join(','))].join('\n') + '\n';
  return { spec, csv };
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
  } catch (e) {
    process.stderr.write(`nat-matrix: ${(e as Error).message}\n`);
    return 2;
  }
  const dirs = args.positionals;
  if (!dirs.length || !args.values.out) {
    process.stderr.write('usage: nat-matrix.ts <results dir>... --out DIR\n');
    return 2;
  }
  let runs: MatrixRun[];
  try {
    runs = dirs.map(loadMatrixRun);
  } catch (e) {
    if (e instanceof MatrixInputError) {
      process.stderr.write(`nat-matrix: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const out = resolve(args.values.out);
  mkdirSync(out, { recursive: true });
  const { spec, csv } = matrixSpec(runs);
  const svg = await vegaToSvg(compileVegaLite(spec, 'nat-matrix').vega);
  writeFileSync(join(out, 'nat-matrix.vl.json'), JSON.stringify(spec, null, 2));
  writeFileSync(join(out, 'nat-matrix.svg'), svg);
  writeFileSync(join(out, 'nat-matrix.png'), svgToPng(svg));
  writeFileSync(join(out, 'nat-matrix.csv'), csv);
  process.stdout.write(`${join(out, 'nat-matrix.svg')}\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main();
