// Test helper: run the holbench CLI as a user would (a child process, argument array), bounded
// in time, with its exit code and output. One copy for every test that drives the CLI.
import { spawn } from 'node:child_process';

export const CLI = new URL('../cli.ts', import.meta.url).pathname;
const TSX = import.meta.resolve('tsx');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** the child's pid (for tests that look for what it created) */
  pid: number | undefined;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** SIGKILL after this long (default 240 s): a hang fails the test instead of the suite */
  timeoutMs?: number;
  /** extra node flags (e.g. --max-old-space-size=512) */
  nodeArgs?: string[];
  /** called for every stderr line, with a way to signal the child (interrupt tests) */
  onStderr?: (line: string, kill: (s: NodeJS.Signals) => void) => void;
}

export function holbench(args: string[], o: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', TSX, CLI, ...args], {
    cwd: o.cwd,
    env: o.env ? { ...process.env, ...o.env } : process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    if (o.onStderr) for (const line of String(d).split('\n')) o.onStderr(line, (s) => child.kill(s));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 240_000);
  return new Promise((resolve) => child.on('exit', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr, pid: child.pid }))));
}
