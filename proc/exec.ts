// Running external commands. Every command is an argument array (execFile/spawn),
// never a shell string, so nothing from a scenario can be interpreted by a shell.
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';

export class CommandError extends Error {
  readonly code = 'HOLBENCH_CMD_FAILED';
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`command failed (exit ${exitCode}): ${argv.join(' ')}\n${stderr.trim()}`);
  }
}

export interface RunOptions {
  /** Run inside this network namespace (via `ip netns exec`). */
  ns?: string;
  /** Do not throw on a non-zero exit; return the result instead. */
  allowFail?: boolean;
  timeoutMs?: number;
  input?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** argv for running `cmd args` inside namespace `ns` (or as is when ns is undefined). */
export function nsArgv(ns: string | undefined, cmd: string, args: readonly string[]): string[] {
  return ns ? ['ip', 'netns', 'exec', ns, cmd, ...args] : [cmd, ...args];
}

/** Run a command to completion. Throws CommandError on a non-zero exit unless allowFail. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const argv = nsArgv(opts.ns, cmd, args);
  return new Promise((resolve, reject) => {
    const child = execFile(
      argv[0]!,
      argv.slice(1),
      { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const exitCode = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
        if (err && !opts.allowFail) {
          const reason = (err as any).code === 'ENOENT' ? `${argv[0]}: not found` : stderr || err.message;
          reject(new CommandError(argv, exitCode, reason));
          return;
        }
        resolve({ stdout, stderr, exitCode });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Start a long-running process, optionally inside a namespace. */
export function start(cmd: string, args: readonly string[], opts: SpawnOptions & { ns?: string } = {}): ChildProcess {
  const { ns, ...spawnOpts } = opts;
  const argv = nsArgv(ns, cmd, args);
  return spawn(argv[0]!, argv.slice(1), spawnOpts);
}

/** True when `cmd` is an executable file on PATH (or, with a slash, at that path): the
 *  lookup execvp does, without a shell. */
export async function haveCommand(cmd: string): Promise<boolean> {
  const dirs = cmd.includes('/') ? [''] : (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean);
  for (const d of dirs) {
    const f = d ? join(d, cmd) : cmd;
    try {
      if ((await stat(f)).isFile()) {
        await access(f, constants.X_OK);
        return true;
      }
    } catch {
      /* not here */
    }
  }
  return false;
}

const TSX_LOADER = import.meta.resolve('tsx');

/** argv for running a TypeScript entry point of this repo with the current Node and tsx. */
export function tsArgv(script: string, args: readonly string[] = []): [string, string[]] {
  return [process.execPath, ['--import', TSX_LOADER, script, ...args]];
}

/** Start a TypeScript entry point of this repo, optionally inside a namespace. */
export function startTs(script: string, args: readonly string[], opts: SpawnOptions & { ns?: string } = {}): ChildProcess {
  const [node, argv] = tsArgv(script, args);
  return start(node, argv, opts);
}

/** Wait until `child` prints a line matching `re` on stdout; reject on exit or timeout. */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let errBuf = '';
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${re}; stderr: ${errBuf.slice(-2000)}`)), timeoutMs);
    const onOut = (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = re.exec(line);
        if (m) return done(null, m);
      }
    };
    const onErr = (d: Buffer) => {
      errBuf = (errBuf + d.toString()).slice(-8000);
    };
    const onExit = (code: number | null) => done(new Error(`process exited (${code}) before ready; stderr: ${errBuf.slice(-2000)}`));
    function done(err: Error | null, m?: RegExpExecArray) {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m!);
    }
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}
