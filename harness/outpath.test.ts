// checkOutDir: an output folder is checked before anything is read or created.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkOutDir, OutPathError } from './outpath.ts';
import { safeText } from './safetext.ts';
import { tempDirSync } from '../proc/testdata/tmp.ts';

const tmp = tempDirSync('holbench-outpath-');
after(() => rmSync(tmp, { recursive: true, force: true }));

test('checkOutDir accepts a writable folder or a path below one, and creates nothing', () => {
  assert.equal(checkOutDir(tmp), tmp);
  const deep = join(tmp, 'a', 'b', 'c');
  assert.equal(checkOutDir(deep), deep);
  assert.ok(!existsSync(join(tmp, 'a')), 'nothing created');
  assert.equal(checkOutDir('reports/x'), resolve('reports/x'), 'relative to the working directory');
});

test('checkOutDir rejects /proc, /sys, symlinks into them, files, and empty paths, naming the flag', () => {
  const file = join(tmp, 'file');
  writeFileSync(file, 'x');
  const link = join(tmp, 'proc-link');
  symlinkSync('/proc/self', link);
  const sysLink = join(tmp, 'sys-link');
  symlinkSync('/sys/kernel', sysLink);
  const cases: [string, RegExp][] = [
    ['/proc/x', /under \/proc/],
    ['/proc', /under \/proc/],
    ['/proc/self/fd/x', /under \/proc/],
    ['/sys/x/y', /under \/sys/],
    ['/proc/../proc/x', /under \/proc/],
    [join(link, 'x'), /leads into \/proc/],
    [join(sysLink, 'x'), /leads into \/sys/],
    [file, /exists and is not a folder/],
    [join(file, 'sub', 'x'), /cannot be created: .*file is not a folder/],
    ['', /empty path/],
    ['a\0b', /NUL/],
  ];
  for (const [p, why] of cases) {
    assert.throws(
      () => checkOutDir(p, '--out'),
      (e: unknown) => e instanceof OutPathError && e.message.startsWith(`--out ${safeText(p)}: `) && why.test(e.message),
      `${JSON.stringify(p)} rejected with ${why}`,
    );
  }
  assert.equal(cases.length, 11);
  assert.throws(() => checkOutDir('/proc/x', 'report destination'), /^Error: report destination \/proc\/x: /);
});

test('checkOutDir rejects a folder it cannot write to (non-root only: root may write anywhere)', (t) => {
  if (process.getuid?.() === 0) {
    t.skip('running as root: permission bits do not stop root');
    return;
  }
  const ro = join(tmp, 'ro');
  mkdirSync(ro);
  chmodSync(ro, 0o555);
  assert.throws(() => checkOutDir(join(ro, 'x')), /cannot be created: .*ro is not writable/);
  assert.throws(() => checkOutDir(ro), /folder is not writable/);
});
