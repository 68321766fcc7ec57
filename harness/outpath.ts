// Checking an output folder given on the command line (compare --out, run --out, report's
// destination) BEFORE anything is read, run or created. Why: Node's recursive mkdir loops
// forever at 100% CPU on /proc (mkdirSync('/proc/x', {recursive: true}) never returns),
// /sys answers EPERM only after the work is done, and writes there reach the kernel.
import { accessSync, constants, realpathSync, statfsSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { safeText } from './safetext.ts';

/** The output path cannot be used; the message names the flag and the path. Exit code 2. */
export class OutPathError extends Error {
  readonly code = 'HOLBENCH_BAD_OUT_PATH';
}

/** Kernel pseudo-filesystems, by path (the usual mount points) and by statfs f_type (the
 *  same filesystems mounted elsewhere). */
const PSEUDO_ROOTS = ['/proc', '/sys'];
const PSEUDO_FS_TYPES: Record<number, string> = {
  0x9fa0: 'procfs', 0x62656572: 'sysfs', 0x27e0eb: 'cgroup', 0x63677270: 'cgroup2', 0x64626720: 'debugfs', 0x74726163: 'tracefs',
  0x73636673: 'securityfs', 0x6165676c: 'pstore', 0xcafe4a11: 'bpf', 0x62656570: 'configfs', 0xde5e81e4: 'efivarfs',
  0x65735543: 'fusectl', 0x42494e4d: 'binfmt_misc', 0x1cd1: 'devpts', 0x19800202: 'mqueue', 0x6e736673: 'nsfs',
};
const NAME_MAX_BYTES = 255;
const PATH_MAX_BYTES = 4095;

const under = (p: string, root: string) => p === root || p.startsWith(`${root}/`);

/** Check that `path` can serve as an output folder, creating and changing nothing: it is a
 *  writable directory, or it does not exist yet and its nearest existing ancestor is a
 *  writable directory (so mkdir -p can make the rest); and it is not on /proc or /sys
 *  (checked after resolving symlinks, and by filesystem type: procfs, sysfs, cgroup, debugfs
 *  and the other kernel pseudo-filesystems). Returns the absolute path.
 *  Throws OutPathError("<flag> <path>: <why>"). Callers: check first, then read inputs,
 *  then mkdirSync(returned, { recursive: true }). */
export function checkOutDir(path: string, flag = '--out'): string {
  const fail = (why: string) => new OutPathError(`${flag} ${safeText(path)}: ${why}`);
  if (path.trim() === '') throw fail('empty path');
  if (path.includes('\0')) throw fail('contains a NUL byte');
  const abs = resolve(path);
  if (Buffer.byteLength(abs) > PATH_MAX_BYTES) throw fail(`path is longer than ${PATH_MAX_BYTES} bytes`);
  if (abs.split('/').some((c) => Buffer.byteLength(c) > NAME_MAX_BYTES)) throw fail(`a folder name is longer than ${NAME_MAX_BYTES} bytes`);
  for (const root of PSEUDO_ROOTS) if (under(abs, root)) throw fail(`is under ${root}, a kernel pseudo-filesystem, not a place for output files`);
  // the nearest existing ancestor: the path itself when it exists
  let existing = abs;
  let st: Stats;
  for (;;) {
    try {
      st = statSync(existing);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a component is a file; going up finds it and reports it below
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fail(`cannot be checked (${code ?? (e as Error).message} on ${existing})`);
      const up = dirname(existing);
      if (up === existing) throw fail('no existing folder above it');
      existing = up;
    }
  }
  const real = realpathSync(existing);
  for (const root of PSEUDO_ROOTS) if (under(real, root)) throw fail(`leads into ${root} (${existing} is ${real}), a kernel pseudo-filesystem, not a place for output files`);
  let fsType: number | undefined;
  try {
    fsType = statfsSync(real).type;
  } catch {
    /* statfs unsupported here: the path checks above still apply */
  }
  if (fsType !== undefined && PSEUDO_FS_TYPES[fsType]) throw fail(`is on ${PSEUDO_FS_TYPES[fsType]} (a kernel pseudo-filesystem), not a place for output files`);
  const self = existing === abs;
  if (!st.isDirectory()) throw fail(self ? 'exists and is not a folder' : `cannot be created: ${existing} is not a folder`);
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'not writable';
    throw fail(self ? `folder is not writable (${code})` : `cannot be created: ${existing} is not writable (${code})`);
  }
  return abs;
}
