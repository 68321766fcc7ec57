// The NAT charts' classification and the cross-run matrix's input checks (no namespaces).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, tsArgv } from '../../proc/exec.ts';
import { natOutcome, NAT_OUTCOMES } from './charts/nat.ts';
import { keepaliveLabel } from './nat-matrix.ts';
import { tempDir } from '../../proc/testdata/tmp.ts';

test('natOutcome: lost beats reconnected beats late beats survived', () => {
  const cases: [Parameters<typeof natOutcome>[0], string][] = [
    [{ msgs_received: 3, msgs_lost: 0, reconnects: 0, msg_p99_ms: 20 }, 'survived'],
    [{ msgs_received: 3, msgs_lost: 0, reconnects: 0, msg_p99_ms: 5000 }, 'late'],
    [{ msgs_received: 3, msgs_lost: 0, reconnects: 2, msg_p99_ms: 9000 }, 'reconnected'],
    [{ msgs_received: 1, msgs_lost: 2, reconnects: 1, msg_p99_ms: 20 }, 'lost'],
    [{ msgs_received: 0, msgs_lost: null, reconnects: null, msg_p99_ms: null }, 'lost'],
  ];
  for (const [row, want] of cases) assert.equal(natOutcome(row), want, JSON.stringify(row));
  assert.deepEqual(new Set(cases.map(([, w]) => w)), new Set(NAT_OUTCOMES), 'every outcome is exercised');
});

test('keepaliveLabel names the keepalives and ignores the reconnect delay', () => {
  assert.equal(keepaliveLabel({ retry_ms: 500 }), 'keepalive off');
  assert.equal(keepaliveLabel(undefined), 'keepalive off');
  assert.equal(keepaliveLabel({ ping_ms: 2000, hold_ms: 2000, retry_ms: 500 }), 'ping 2000 ms, poll hold 2000 ms');
});

test('nat-matrix: exit 2 naming the folder for a run without nat and for a non-results folder', { timeout: 60_000 }, async () => {
  const dir = await tempDir('holbench-natmatrix-');
  await writeFile(join(dir, 'run.json'), JSON.stringify({ scenario: { name: 'x' } }));
  await writeFile(join(dir, 'summary.csv'), 'protocol,workload,status,rep\nws,messages,SUCCEEDED,1\n');
  const empty = await tempDir('holbench-natmatrix-empty-');
  const [node, argv] = tsArgv(new URL('./nat-matrix.ts', import.meta.url).pathname, []);
  for (const [target, re] of [[dir, /run\.json has no nat/], [empty, /not a results folder/]] as const) {
    const r = await run(node, [...argv, target, '--out', join(dir, 'out')], { allowFail: true });
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.ok(r.stderr.includes(target), 'names the folder');
  }
});
