// Output folders are checked before anything touches the system: a run must not reap
// namespaces or probe backends only to fail at its first mkdir, and Node's recursive mkdir
// loops forever on /proc. checkOutDir only looks (stat, statfs, access); it creates nothing.
import { accessSync, constants, statfsSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { safeText } from './safetext.ts';

export class OutPathError extends Error {
  readonly code = 'HOLBENCH_BAD_PATH';
}

/** Kernel pseudo-filesystems (statfs f_type) where results cannot live. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x6165676c: 'pstore',
  0xcafe4a11: 'bpf',
  0x62656570: 'configfs',
  0xde5e81e4: 'efivarfs',
  0x65735543: 'fusectl',
  0x42494e4d: 'binfmt_misc',
  0x1cd1: 'devpts',
  0x19800202: 'mqueue',
  0x6e736673: 'nsfs',
};

const NAME_MAX_BYTES = 255;
const PATH_MAX_BYTES = 4095;

/** Check that `dir` is, or can be created as, a writable folder on a real filesystem.
 *  `what` names the option in messages ("--out"). Returns the absolute path; throws
 *  OutPathError with a one-line message otherwise. */
export function checkOutDir(dir: string, what: string): string {
  const abs = resolve(dir);
  const bad = (why: string) => new OutPathError(`${what} ${safeText(dir)}: ${why}`);
  if (Buffer.byteLength(abs) > PATH_MAX_BYTES) throw bad(`path is longer than ${PATH_MAX_BYTES} bytes`);
  const long = abs.split(sep).find((c) => Buffer.byteLength(c) > NAME_MAX_BYTES);
  if (long !== undefined) throw bad(`a folder name is longer than ${NAME_MAX_BYTES} bytes`);
  // the nearest existing ancestor (or dir itself) must be a folder we can write into
  let at = abs;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a part above is a file; walk up to it and name it
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(at) !== at) {
        at = dirname(at);
        continue;
      }
      throw bad(`cannot use it (${code ?? (e as Error).message})`);
    }
    if (!isDir) throw bad(at === abs ? 'exists and is not a folder' : `${safeText(at)} is not a folder`);
    break;
  }
  const fsName = PSEUDO_FS[statfsSync(at).type];
  if (fsName) throw bad(`${safeText(at)} is on ${fsName}, a kernel pseudo-filesystem; choose a folder on a disk`);
  try {
    accessSync(at, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw bad(`${safeText(at)} is not writable (${(e as NodeJS.ErrnoException).code})`);
  }
  return abs;
}
