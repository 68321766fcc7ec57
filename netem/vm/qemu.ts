// Run one command inside a throwaway qemu VM that boots the stock Debian kernel from /boot
// (which, unlike this host's kernel, has sch_netem) with the host's / as its read-only
// root over virtio-9p. Used to exercise the real tc-netem backend on machines whose own
// kernel lacks netem. TCG only (`-accel tcg`): nested KVM fails on our hosts. TCG is slow,
// so timings measured inside are functional checks, never figures.
//
//   const r = await runInVm({ command: [process.execPath, '--import', 'tsx', 'x.ts'], timeoutMs: 300_000 });
//
// The guest writes the command's stdout, stderr and exit code into a second, writable 9p
// export (a fresh temp dir on the host), then powers off. qemu is always killed: on
// timeout, when this process exits, and on SIGINT/SIGTERM via lifecycle cleanups.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { onCleanup } from '../../proc/lifecycle.ts';
import { BOOTED_MARKER, buildInitramfs, findBusybox, findKernel, type KernelInfo } from './initramfs.ts';

export const QEMU_BIN = 'qemu-system-x86_64';

export class VmError extends Error {
  constructor(
    readonly code: 'HOLBENCH_VM_UNAVAILABLE' | 'HOLBENCH_VM_TIMEOUT' | 'HOLBENCH_VM_NO_RESULT',
    message: string,
    /** last part of the serial console, for diagnosis */
    readonly console = '',
  ) {
    super(console ? `${message}\n--- VM console (tail) ---\n${console.slice(-4000)}` : message);
  }
}

function onPath(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(dir, bin);
    if (existsSync(p)) return p;
  }
  return null;
}

export interface VmAvailability {
  ok: boolean;
  reason: string;
  qemu?: string;
  kernel?: KernelInfo;
  busybox?: string;
}

/** Are qemu, a netem-capable kernel in /boot and a static busybox installed? Touches nothing. */
export function vmAvailable(): VmAvailability {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { ok: false, reason: `needs linux/x64, this is ${process.platform}/${process.arch}` };
  const qemu = onPath(QEMU_BIN);
  if (!qemu) return { ok: false, reason: `${QEMU_BIN} not found (install the Debian package qemu-system-x86)` };
  const kernel = findKernel();
  if (typeof kernel === 'string') return { ok: false, reason: kernel };
  const busybox = findBusybox();
  if (typeof busybox !== 'string') return { ok: false, reason: busybox.error };
  if (!onPath('modprobe')) return { ok: false, reason: 'modprobe not found (install the Debian package kmod)' };
  return { ok: true, reason: `qemu ${qemu}, kernel ${kernel.kver}, busybox ${busybox}`, qemu, kernel, busybox };
}

export interface RunInVmOptions {
  /** argv; argv[0] must be an absolute path on the host (the guest's root is the host's /) */
  command: string[];
  /** whole run including boot; qemu is SIGKILLed when it expires */
  timeoutMs: number;
  /** working directory inside the guest (default: this process's cwd) */
  cwd?: string;
  /** environment of the command (default: PATH, HOME=/root, LANG=C.UTF-8, TMPDIR=/tmp) */
  env?: Record<string, string>;
  /** modules to `modprobe` in the guest before the command (default sch_netem, veth) */
  modules?: string[];
  memoryMb?: number;
  cpus?: number;
  /** every chunk of serial console output, as it arrives */
  onConsole?: (chunk: string) => void;
}

export interface RunInVmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** serial console (kernel messages and our init's lines), tail */
  console: string;
  timings: { initramfsMs: number; bootMs: number | null; totalMs: number; initramfsCached: boolean };
  kver: string;
}

const CONSOLE_KEEP = 64 * 1024;
const XDIR_PREFIX = 'holbench-vm-x-';

/** Remove exchange dirs left by runs that were SIGKILLed (their owner pid is gone). */
async function reapExchangeDirs(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const n of names) {
    const m = new RegExp(`^${XDIR_PREFIX}(\\d+)-`).exec(n);
    if (!m || Number(m[1]) === process.pid) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) await rm(join(tmpdir(), n), { recursive: true, force: true });
  }
}

/** Boot the VM, run `command` in it, return its exit code and output. Throws VmError when
 *  the VM cannot run, times out, or ends without a result. */
export async function runInVm(opts: RunInVmOptions): Promise<RunInVmResult> {
  const t0 = performance.now();
  const avail = vmAvailable();
  if (!avail.ok) throw new VmError('HOLBENCH_VM_UNAVAILABLE', `cannot run a VM here: ${avail.reason}`);
  const argv0 = opts.command[0];
  if (!argv0 || !argv0.startsWith('/')) throw new Error('runInVm: command[0] must be an absolute path');
  const initrd = await buildInitramfs(avail.kernel!);
  const tInit = performance.now();

  const env = opts.env ?? { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8', TMPDIR: '/tmp' };
  const envPairs = Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`runInVm: bad environment variable name "${k}"`);
    return `${k}=${v}`;
  });
  // `env -i K=V... cmd args`: env would take a command name containing '=' for a variable
  if (argv0.includes('=')) throw new Error('runInVm: command[0] must not contain "="');
  const workdir = opts.cwd ?? process.cwd();
  if (!workdir.startsWith('/') || /[\n\0]/.test(workdir)) throw new Error(`runInVm: bad working directory "${workdir}"`);
  const guestArgv = [workdir, '/usr/bin/env', '-i', ...envPairs, ...opts.command];
  if (guestArgv.some((a) => a.includes('\0'))) throw new Error('runInVm: arguments must not contain NUL');

  await reapExchangeDirs();
  const xdir = await mkdtemp(join(tmpdir(), `${XDIR_PREFIX}${process.pid}-`));
  let child: ChildProcess | null = null;
  const kill = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const unregister = onCleanup(kill);
  process.on('exit', kill);
  try {
    await writeFile(join(xdir, 'argv'), guestArgv.join('\0'));
    await writeFile(join(xdir, 'workdir'), workdir);
    await writeFile(join(xdir, 'modules'), (opts.modules ?? ['sch_netem', 'veth']).join('\n') + '\n');
    const args = [
      '-accel', 'tcg',
      '-M', 'pc',
      '-cpu', 'max',
      '-m', String(opts.memoryMb ?? 2048),
      '-smp', String(opts.cpus ?? 2),
      '-nographic', '-no-reboot', '-nic', 'none',
      '-kernel', avail.kernel!.vmlinuz,
      '-initrd', initrd.path,
      // panic=-1 + -no-reboot: a kernel panic ends qemu at once instead of hanging
      '-append', 'console=ttyS0 rdinit=/init panic=-1 quiet loglevel=3 random.trust_cpu=on',
      '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
      '-virtfs', `local,path=${xdir},mount_tag=results,security_model=none`,
      '-virtfs', `local,path=${workdir},mount_tag=work,security_model=none,readonly=on,multidevs=remap`,
    ];
    let consoleBuf = '';
    let bootMs: number | null = null;
    const tSpawn = performance.now();
    // setpriv (util-linux) sets PR_SET_PDEATHSIG and execs qemu: if this process dies
    // without running its handlers (SIGKILL), the kernel kills qemu too.
    const setpriv = onPath('setpriv');
    const c = setpriv
      ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', avail.qemu!, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(avail.qemu!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const onData = (d: Buffer) => {
      const s = d.toString();
      consoleBuf = (consoleBuf + s).slice(-CONSOLE_KEEP);
      if (bootMs === null && consoleBuf.includes(BOOTED_MARKER)) bootMs = performance.now() - tSpawn;
      opts.onConsole?.(s);
    };
    c.stdout!.on('data', onData);
    c.stderr!.on('data', onData);
    const remaining = Math.max(1000, opts.timeoutMs - (performance.now() - t0));
    const outcome = await new Promise<'exited' | 'timeout'>((resolve, reject) => {
      const timer = setTimeout(() => {
        kill();
        resolve('timeout');
      }, remaining);
      c.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      c.once('exit', () => {
        clearTimeout(timer);
        resolve('exited');
      });
    });
    if (outcome === 'timeout') {
      await new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
      throw new VmError('HOLBENCH_VM_TIMEOUT', `VM run timed out after ${opts.timeoutMs} ms (qemu killed)`, consoleBuf);
    }
    const read = (f: string) => readFile(join(xdir, f), 'utf8').catch(() => null);
    const rc = await read('rc');
    if (rc === null || !/^\d+\s*$/.test(rc)) {
      throw new VmError('HOLBENCH_VM_NO_RESULT', `VM ended (qemu exit ${c.exitCode ?? c.signalCode}) without the command's exit code`, consoleBuf);
    }
    return {
      exitCode: Number(rc),
      stdout: (await read('stdout')) ?? '',
      stderr: (await read('stderr')) ?? '',
      console: consoleBuf,
      timings: { initramfsMs: Math.round(tInit - t0), bootMs: bootMs === null ? null : Math.round(bootMs), totalMs: Math.round(performance.now() - t0), initramfsCached: initrd.cached },
      kver: avail.kernel!.kver,
    };
  } finally {
    kill();
    process.off('exit', kill);
    unregister();
    await rm(xdir, { recursive: true, force: true });
  }
}
