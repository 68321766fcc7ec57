// haveCommand looks a command up on PATH the way execvp does, without a shell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { haveCommand } from './exec.ts';
import { tempDir } from './testdata/tmp.ts';

test('haveCommand: executables on PATH or by path; not a plain file, a directory, or a name with shell syntax', async () => {
  const dir = await tempDir('holbench-have-');
  const savedPath = process.env.PATH;
  try {
    await writeFile(join(dir, 'tool'), '#!/bin/sh\n');
    await chmod(join(dir, 'tool'), 0o755);
    await writeFile(join(dir, 'plain'), 'x');
    await mkdir(join(dir, 'sub'));
    process.env.PATH = `/nonexistent:${dir}`;
    assert.equal(await haveCommand('tool'), true);
    assert.equal(await haveCommand('plain'), false, 'not executable');
    assert.equal(await haveCommand('sub'), false, 'a directory');
    assert.equal(await haveCommand('missing'), false);
    assert.equal(await haveCommand('tool; true'), false, 'no shell: the name is a file name');
    assert.equal(await haveCommand(join(dir, 'tool')), true, 'an absolute path');
  } finally {
    process.env.PATH = savedPath;
    await rm(dir, { recursive: true, force: true });
  }
});
