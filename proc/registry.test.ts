// The run registry's liveness test: a SIGKILLed owner that its parent has not reaped yet (a
// zombie, which lasts where PID 1 reaps slowly) is dead, so `holbench cleanup` reaps its
// namespaces right away instead of keeping them "owned by a live process".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { ownerAlive, procStart, registerRun, REGISTRY_DIR, type RunRecord } from './registry.ts';
import { run } from './exec.ts';

const CLI = new URL('../harness/cli.ts', import.meta.url).pathname;

/** A child of a parent that never waits: perl (Essential on Debian) forks, prints the
 *  child's pid and sleeps, so the child stays a zombie after we SIGKILL it. */
async function zombieable(): Promise<{ pid: number; parent: ReturnType<typeof spawn> }> {
  const parent = spawn('perl', ['-e', '$| = 1; my $p = fork(); if ($p == 0) { sleep 60; exit 0 } print "$p\\n"; sleep 60;'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
    parent.once('error', reject);
  });
  assert.ok(pid > 0);
  return { pid, parent };
}

function state(pid: number): string {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ')[0]!;
}

async function killToZombie(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 200 && state(pid) !== 'Z'; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(state(pid), 'Z', 'the killed child is a zombie (its parent does not wait)');
}

test('ownerAlive: a live owner is alive, the same pid as a zombie is dead', async () => {
  const { pid, parent } = await zombieable();
  try {
    const rec: RunRecord = { runId: 'zombie', pid, pidStart: procStart(pid) ?? '', namespaces: [], createdAt: new Date().toISOString() };
    assert.notEqual(rec.pidStart, '');
    assert.equal(ownerAlive(rec), true);
    await killToZombie(pid);
    assert.equal(procStart(pid), rec.pidStart, 'the zombie still has its /proc entry and start time');
    assert.equal(ownerAlive(rec), false);
  } finally {
    parent.kill('SIGKILL');
  }
});

test('holbench cleanup reaps the namespaces of a run whose owner is a zombie', { timeout: 60_000 }, async () => {
  const { pid, parent } = await zombieable();
  const runId = `zz${randomBytes(4).toString('hex')}`;
  const ns = `holbench-${runId}-r`;
  try {
    await run('ip', ['netns', 'add', ns]);
    // the record as the owner would have written it (registerRun records the caller's pid)
    await registerRun(runId, [ns]);
    const file = `${REGISTRY_DIR}/${runId}.json`;
    const rec = JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
    await writeFile(file, JSON.stringify({ ...rec, pid, pidStart: procStart(pid) }));
    await killToZombie(pid);
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const c = spawn(process.execPath, ['--import', 'tsx', CLI, 'cleanup'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let stdout = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.on('exit', (code) => resolve({ code, stdout }));
    });
    assert.equal(out.code, 0);
    assert.match(out.stdout, new RegExp(`removed \\d+ run\\(s\\): .*\\b${runId}\\b`));
    const list = (await run('ip', ['netns', 'list'])).stdout;
    assert.ok(!list.includes(ns), `${ns} is gone`);
  } finally {
    parent.kill('SIGKILL');
    await run('ip', ['netns', 'del', ns], { allowFail: true });
    await rm(`${REGISTRY_DIR}/${runId}.json`, { force: true });
  }
});
