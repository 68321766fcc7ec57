// Nothing is left behind: not after SIGINT, SIGTERM, nor (after the next start's reaping)
// SIGKILL; and the root namespace's network configuration is identical before and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostNetSnapshot } from './hostcheck.ts';
import { startTs, waitForLine, run } from '../proc/exec.ts';
import { reapStale } from './cleanup.ts';
import { nsNames } from './topology.ts';

const FIXTURE = new URL('./testdata/hold-topology.ts', import.meta.url).pathname;

async function nsPresent(runId: string): Promise<string[]> {
  const out = (await run('ip', ['netns', 'list'])).stdout;
  return Object.values(nsNames(runId)).filter((n) => out.includes(n));
}

async function startFixture() {
  const child = startTs(FIXTURE, [], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m = await waitForLine(child, /^READY (\w+)$/, 60_000);
  return { child, runId: m[1]! };
}

function exitOf(child: import('node:child_process').ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${sig}: namespaces, helper, iptables rules and processes are gone; host unchanged`, async () => {
    const before = await hostNetSnapshot();
    const { child, runId } = await startFixture();
    assert.equal((await nsPresent(runId)).length, 3);
    const rules = (await run('iptables-save', [], { ns: nsNames(runId).router })).stdout;
    assert.match(rules, /NFQUEUE/, 'helper rules installed in the router namespace');
    const pids: number[] = [];
    for (const n of [nsNames(runId).router, nsNames(runId).server]) {
      pids.push(...(await run('ip', ['netns', 'pids', n])).stdout.split(/\s+/).filter(Boolean).map(Number));
    }
    assert.ok(pids.length >= 2, 'the helper (router) and a server process (server) are running');
    const exited = exitOf(child);
    child.kill(sig);
    assert.deepEqual(await exited, { code, signal: null });
    assert.deepEqual(await nsPresent(runId), []);
    const alive = pids.filter((p) => {
      try {
        process.kill(p, 0);
        return true;
      } catch {
        return false;
      }
    });
    assert.deepEqual(alive, [], 'no helper or server process survives');
    assert.deepEqual(await hostNetSnapshot(), before);
  });
}

test('SIGKILL leaves a stale run that the next start reaps; live runs are kept', async () => {
  const before = await hostNetSnapshot();
  const victim = await startFixture();
  const live = await startFixture();
  try {
    const exited = exitOf(victim.child);
    victim.child.kill('SIGKILL');
    await exited;
    assert.equal((await nsPresent(victim.runId)).length, 3, 'SIGKILL cannot clean up by itself');
    const report = await reapStale();
    assert.ok(report.removed.includes(victim.runId));
    assert.ok(report.kept.includes(live.runId), 'a run whose owner is alive is not touched');
    assert.deepEqual(await nsPresent(victim.runId), []);
    assert.equal((await nsPresent(live.runId)).length, 3);
  } finally {
    const exited = exitOf(live.child);
    live.child.kill('SIGINT');
    await exited;
  }
  assert.deepEqual(await nsPresent(live.runId), []);
  assert.deepEqual(await hostNetSnapshot(), before);
});
