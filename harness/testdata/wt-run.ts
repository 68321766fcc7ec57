// Shared by the WebTransport runner tests (webtransport*.test.ts): run a scenario through the
// holbench CLI (helper backend) and read its summary.csv and messages.csv; the WebTransport
// entries of the protocol table.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { run } from '../../proc/exec.ts';
import { holbench as holbenchCli } from './cli.ts';
import { PROTOCOLS } from '../protocols.ts';

const holbench = (args: string[]) => holbenchCli(args, { timeoutMs: 300_000 });
const csv = async (f: string) => parse(await readFile(f, 'utf8'), { columns: true }) as Record<string, string>[];
/** the WebTransport entries of the protocol table (their source of truth) */
export const WT = PROTOCOLS.filter((p) => p.startsWith('webtransport-'));

export async function runScenario(yaml: string) {
  const dir = await mkdtemp(join(tmpdir(), 'holbench-wt-'));
  const file = join(dir, 'scenario.yaml');
  await writeFile(file, yaml);
  const r = await holbench(['run', file, '--backend', 'helper', '--out', join(dir, 'results'), '--json', '--quiet', '--no-report']);
  const outDir = JSON.parse(r.stdout || '{}').outDir as string | undefined;
  assert.ok(outDir, `no result: exit ${r.code} ${r.stderr.slice(-2000)}`);
  const runJson = JSON.parse(await readFile(join(outDir, 'run.json'), 'utf8')) as { run_id: string; protocols: { protocol: string; wire?: string }[] };
  const { run_id } = runJson;
  const ns = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`holbench-${run_id}-`));
  assert.deepEqual(ns, [], 'namespaces left behind');
  return { code: r.code, stderr: r.stderr, runJson, summary: await csv(join(outDir, 'summary.csv')), messages: await csv(join(outDir, 'messages.csv')) };
}

