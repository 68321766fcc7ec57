// Unit checks of the initramfs pieces that need no VM: the cpio writer, the static-ELF
// check, kernel/module discovery (skipped where /boot has no suitable kernel).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpioNewc, findBusybox, findKernel, INIT_SCRIPT, isStaticElf, moduleChain, BOOT_MODULES } from './initramfs.ts';
import { tempDirSync } from '../../proc/testdata/tmp.ts';

test('cpioNewc writes an archive busybox cpio can list', (t) => {
  const bb = findBusybox();
  if (typeof bb !== 'string') return t.skip(bb.error);
  const archive = cpioNewc([
    { name: 'bin', mode: 0o040755 },
    { name: 'bin/hello', mode: 0o100755, data: Buffer.from('hi\n') },
    { name: 'dev/console', mode: 0o020600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'odd', mode: 0o100644, data: Buffer.alloc(5, 1) }, // exercises data padding
  ]);
  assert.equal(archive.length % 4, 0);
  const dir = tempDirSync('holbench-cpio-');
  try {
    const f = join(dir, 'a.cpio');
    writeFileSync(f, archive);
    const listing = execFileSync(bb, ['cpio', '-t', '-F', f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.deepEqual(listing.trim().split('\n'), ['bin', 'bin/hello', 'dev/console', 'odd']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('isStaticElf tells busybox-static from a dynamic binary', (t) => {
  const bb = findBusybox();
  if (typeof bb !== 'string') return t.skip(bb.error);
  assert.equal(isStaticElf(bb), true);
  assert.equal(isStaticElf(process.execPath), false); // node is dynamically linked
  assert.equal(isStaticElf('/nonexistent'), false);
});

test('kernel discovery and the 9p/virtio module chain', async (t) => {
  const k = findKernel();
  if (typeof k === 'string') return t.skip(k);
  const mods = await moduleChain(k.kver, BOOT_MODULES);
  const names = mods.map((m) => m.split('/').pop()!.replace(/\.ko(\.(xz|zst|gz))?$/, ''));
  for (const need of ['virtio', 'virtio_ring', 'virtio_pci', '9pnet', '9pnet_virtio', '9p']) assert.ok(names.includes(need), `${need} in ${names}`);
  // dependencies come before their users
  assert.ok(names.indexOf('virtio_ring') < names.indexOf('virtio_pci'));
  assert.ok(names.indexOf('9pnet') < names.indexOf('9pnet_virtio'));
  assert.equal(new Set(mods).size, mods.length, 'no duplicates');
});

test('the /init script is fixed text with no unresolved template parts', () => {
  assert.ok(INIT_SCRIPT.startsWith('#!/bin/busybox sh\n'));
  assert.ok(!INIT_SCRIPT.includes('${'), 'JS template leftovers');
  assert.ok(INIT_SCRIPT.includes('poweroff -f'));
});
