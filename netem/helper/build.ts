// Builds the NFQUEUE helper (impair.c) with the system C compiler on first use.
// The binary is named after the source hash, so editing impair.c triggers a rebuild and
// concurrent builders never see a half-written file (compile to a temp name, then rename).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { haveCommand, run } from '../../proc/exec.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const HELPER_SOURCE = join(HERE, 'impair.c');
export const HELPER_BUILD_DIR = join(HERE, 'build');
const CFLAGS = ['-O2', '-Wall', '-std=gnu11', '-pthread'];
const INSTALL_HINT = 'apt-get install gcc libc6-dev linux-libc-dev';

export class HelperBuildError extends Error {
  readonly code = 'HOLBENCH_HELPER_BUILD';
}

async function sourceHash(): Promise<string> {
  const src = await readFile(HELPER_SOURCE);
  return createHash('sha256').update(src).update(CFLAGS.join(' ')).digest('hex').slice(0, 16);
}

/** Path the binary for the current source has (whether or not it is built yet). */
export async function helperBinaryPath(): Promise<string> {
  return join(HELPER_BUILD_DIR, `impair-${await sourceHash()}`);
}

/** The first C compiler on PATH, or null. */
export async function findCompiler(): Promise<string | null> {
  for (const cc of ['cc', 'gcc', 'clang']) if (await haveCommand(cc)) return cc;
  return null;
}

let building: Promise<string> | null = null;

/** Compile impair.c if the binary for its current hash is missing; returns the binary path. */
export function ensureHelperBinary(): Promise<string> {
  building ??= build().finally(() => {
    building = null;
  });
  return building;
}

async function build(): Promise<string> {
  const bin = await helperBinaryPath();
  if (existsSync(bin)) return bin;
  const cc = await findCompiler();
  if (!cc) throw new HelperBuildError(`no C compiler found to build the NFQUEUE helper (${INSTALL_HINT})`);
  if (!existsSync('/usr/include/linux/netfilter/nfnetlink_queue.h')) {
    throw new HelperBuildError(`kernel headers for nfnetlink_queue are missing (${INSTALL_HINT})`);
  }
  await mkdir(HELPER_BUILD_DIR, { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  try {
    await run(cc, [...CFLAGS, '-o', tmp, HELPER_SOURCE, '-lm'], { timeoutMs: 120_000 });
  } catch (err) {
    await rm(tmp, { force: true });
    throw new HelperBuildError(`building the NFQUEUE helper failed (${INSTALL_HINT}?): ${(err as Error).message}`);
  }
  await rename(tmp, bin);
  // Old binaries (other source hashes) are dead weight; remove them quietly.
  for (const f of await readdir(HELPER_BUILD_DIR)) {
    if (f.startsWith('impair-') && join(HELPER_BUILD_DIR, f) !== bin && !f.includes('.tmp-')) {
      await rm(join(HELPER_BUILD_DIR, f), { force: true });
    }
  }
  return bin;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureHelperBinary().then(
    (p) => process.stdout.write(`${p}\n`),
    (e) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
