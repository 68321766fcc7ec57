// The typed control channel: ready handshake, correlated replies (out of order), errors as
// rejections, timeouts, stop with the child's cleanup, and a child that dies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, ChannelError } from './channel.ts';
import type { EchoControl } from './testdata/echo-child.ts';

const FIXTURE = fileURLToPath(new URL('./testdata/echo-child.ts', import.meta.url));

test('ready, correlated replies out of order, errors and timeouts', { timeout: 30_000 }, async () => {
  const ch = await startChild<EchoControl>(FIXTURE, { args: ['hello'], stdout: 'ignore' });
  try {
    assert.equal(ch.ready.arg, 'hello');
    assert.equal(ch.ready.pid, ch.child.pid);
    // the slow request is answered last, each reply reaches its own caller
    const replies = await Promise.all([ch.request({ type: 'echo', text: 'slow', delayMs: 300 }, 5000), ch.request({ type: 'echo', text: 'fast' }, 5000)]);
    assert.deepEqual(replies, [{ text: 'SLOW' }, { text: 'FAST' }]);
    await assert.rejects(ch.request({ type: 'fail' }, 5000), (e: Error) => e instanceof ChannelError && /asked to fail$/.test(e.message));
    await assert.rejects(ch.request({ type: 'echo', text: 'late', delayMs: 2000 }, 200), /no reply to echo within 0 s/);
    // the late reply is dropped and the channel still works
    assert.deepEqual(await ch.request({ type: 'echo', text: 'after' }, 5000), { text: 'AFTER' });
  } finally {
    await ch.stop();
  }
  assert.ok(ch.child.exitCode === 0, `exit code ${ch.child.exitCode}`);
  await assert.rejects(ch.request({ type: 'echo', text: 'x' }, 1000), /is not running/);
});

test('a child that dies rejects pending requests; a symlinked path still starts', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-chan-'));
  try {
    const link = join(dir, 'proc');
    symlinkSync(dirname(FIXTURE).replace(/\/testdata$/, ''), link);
    const ch = await startChild<EchoControl>(join(link, 'testdata', 'echo-child.ts'), { stdout: 'ignore' });
    const pending = ch.request({ type: 'echo', text: 'never', delayMs: 10_000 }, 20_000);
    ch.kill();
    await assert.rejects(pending, /exited \(SIGKILL\) with a request pending/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a script that never becomes ready fails with its stderr', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-chan-'));
  try {
    const bad = join(dir, 'bad.ts');
    (await import('node:fs')).writeFileSync(bad, "process.stderr.write('boom: no channel here\\n'); process.exit(3);\n");
    await assert.rejects(startChild(bad, { stdout: 'ignore', readyTimeoutMs: 10_000 }), /exited \(3\) before ready: boom: no channel here/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
