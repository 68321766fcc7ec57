// Temp dirs for tests: removed when the test file's process exits with every test passed
// (node --test runs each file in its own process), kept and named on stderr when one
// failed, for a look at what the test wrote. Test support only.
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs: string[] = [];
process.once('exit', (code) => {
  if (code === 0) for (const d of dirs) rmSync(d, { recursive: true, force: true });
  else if (dirs.length) process.stderr.write(`# kept for inspection: ${dirs.join(' ')}\n`);
});

/** A new dir <tmpdir>/<prefix>XXXXXX, removed at exit if the file's tests passed. */
export async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** tempDir, synchronously (for module-level setup). */
export function tempDirSync(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
