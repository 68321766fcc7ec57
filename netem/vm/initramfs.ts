// A tiny initramfs for booting a stock Debian kernel under qemu with the HOST's root file
// system as the guest's root (read-only over virtio-9p). It holds only busybox (static),
// the modules needed to reach the 9p root (resolved with `modprobe -S <kver>
// --show-depends`, decompressed here when they are .ko.xz/.ko.zst/.ko.gz, since busybox
// insmod may not read compressed modules), /dev/console and a fixed /init script.
// Everything else (node, tc, ip, sch_netem.ko, veth.ko) comes from the host's / over 9p.
//
// The cpio archive (newc format, uncompressed; the kernel takes it as is) is written by
// this file, so neither `cpio` nor `gzip` is needed. Built archives are cached by content.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { run } from '../../proc/exec.ts';

/** Modules needed to mount the host root: the virtio PCI transport and 9p over virtio. */
export const BOOT_MODULES = ['virtio_pci', '9pnet_virtio', '9p'];

export interface KernelInfo {
  kver: string;
  vmlinuz: string;
  modulesDir: string;
}

/** Compare kernel versions like `sort -V` for the parts that matter (6.1.0-56 > 6.1.0-9). */
function cmpVersion(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  const pb = b.split(/[.-]/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? -1;
    const y = pb[i] ?? -1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

function hasModule(modulesDir: string, rel: string): boolean {
  return ['', '.xz', '.zst', '.gz'].some((ext) => existsSync(join(modulesDir, 'kernel', `${rel}.ko${ext}`)));
}

/** The newest /boot/vmlinuz-<kver> whose /lib/modules/<kver> has sch_netem and 9p; or why not. */
export function findKernel(bootDir = '/boot', modulesRoot = '/lib/modules'): KernelInfo | string {
  let names: string[] = [];
  try {
    names = readdirSync(bootDir).filter((n) => n.startsWith('vmlinuz-'));
  } catch {
    return `${bootDir} is not readable`;
  }
  if (!names.length) return `no ${bootDir}/vmlinuz-* (install the Debian package linux-image-amd64)`;
  const kvers = names.map((n) => n.slice('vmlinuz-'.length)).sort(cmpVersion).reverse();
  for (const kver of kvers) {
    const modulesDir = join(modulesRoot, kver);
    if (!existsSync(join(modulesDir, 'modules.dep'))) continue;
    if (!hasModule(modulesDir, 'net/sched/sch_netem') || !hasModule(modulesDir, 'fs/9p/9p')) continue;
    return { kver, vmlinuz: join(bootDir, `vmlinuz-${kver}`), modulesDir };
  }
  return `no kernel in ${bootDir} has modules in ${modulesRoot}/<kver> with sch_netem and 9p (found: ${kvers.join(', ')})`;
}

/** True when `path` is an ELF executable without a PT_INTERP header (statically linked). */
export function isStaticElf(path: string): boolean {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch {
    return false;
  }
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return false; // ELF64 LE
  const phoff = Number(b.readBigUInt64LE(32));
  const phentsize = b.readUInt16LE(54);
  const phnum = b.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > b.length) return false;
    if (b.readUInt32LE(off) === 3) return false; // PT_INTERP: needs a dynamic loader
  }
  return true;
}

/** A statically linked busybox (Debian package busybox-static), or why not. */
export function findBusybox(): string | { error: string } {
  for (const p of ['/usr/bin/busybox', '/bin/busybox', '/usr/sbin/busybox', '/sbin/busybox']) {
    if (existsSync(p)) {
      if (isStaticElf(p)) return p;
      return { error: `${p} is dynamically linked (install busybox-static instead of busybox)` };
    }
  }
  return { error: 'busybox not found (install the Debian package busybox-static)' };
}

/** Module files to insmod, in order, deduplicated (`modprobe --show-depends` per module). */
export async function moduleChain(kver: string, names: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of names) {
    const r = await run('modprobe', ['-S', kver, '--show-depends', name], { timeoutMs: 10_000 });
    for (const line of r.stdout.split('\n')) {
      const m = /^insmod\s+(\S+)/.exec(line.trim());
      if (m && !out.includes(m[1]!)) out.push(m[1]!); // "builtin X" lines need nothing
    }
  }
  return out;
}

async function moduleBytes(path: string): Promise<Buffer> {
  if (path.endsWith('.ko')) return readFileSync(path);
  if (path.endsWith('.ko.gz')) return gunzipSync(readFileSync(path));
  const tool = path.endsWith('.ko.xz') ? 'xz' : path.endsWith('.ko.zst') ? 'zstd' : null;
  if (!tool) throw new Error(`unknown module format: ${path}`);
  // decompress to stdout; encoding 'latin1' keeps the bytes intact through execFile
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) =>
    execFile(tool, ['-dc', path], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (err, stdout) =>
      err ? reject(new Error(`${tool} -dc ${path} failed (install ${tool === 'xz' ? 'xz-utils' : 'zstd'}): ${err.message}`)) : resolve(stdout),
    ),
  );
}

// ---- cpio "newc" writer --------------------------------------------------------------

interface CpioEntry {
  name: string;
  mode: number; // including the file type bits
  data?: Buffer;
  rdevMajor?: number;
  rdevMinor?: number;
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const hex = (v: number) => v.toString(16).padStart(8, '0');
  let ino = 1;
  const add = (e: CpioEntry) => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(e.name + '\0');
    const fields = [ino++, e.mode, 0, 0, e.mode & S_IFDIR ? 2 : 1, 0, data.length, 0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, name.length, 0];
    const header = Buffer.from('070701' + fields.map(hex).join(''), 'ascii');
    parts.push(header, name, Buffer.alloc(pad4(header.length + name.length)), data, Buffer.alloc(pad4(data.length)));
  };
  for (const e of entries) add(e);
  add({ name: 'TRAILER!!!', mode: 0 });
  return Buffer.concat(parts);
}

// ---- /init --------------------------------------------------------------------------

/** Where the writable exchange directory appears inside the guest's (chrooted) root. */
export const GUEST_XDIR = '/run/holbench-vm';
export const BOOTED_MARKER = 'HOLBENCH-VM-BOOTED';
export const DONE_MARKER = 'HOLBENCH-VM-DONE';

// Fixed text. The command to run arrives as a NUL-separated file in the exchange
// directory and reaches `sh -c` only as positional parameters ("$@"), never as code.
export const INIT_SCRIPT = `#!/bin/busybox sh
B=/bin/busybox
X=/newroot${GUEST_XDIR}
say() { $B echo "holbench-vm: $*" > /dev/console; }
die() { say "FATAL: $*"; $B sleep 1; $B poweroff -f; }
$B mkdir -p /proc /sys /dev /newroot
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev 2>/dev/null
while read -r m; do
  $B insmod "/modules/$m" || say "insmod $m failed"
done < /modules.list
O=trans=virtio,version=9p2000.L,msize=262144
$B mount -t 9p -o $O,ro,cache=loose hostroot /newroot || die "cannot mount the host root over 9p"
$B mount -t tmpfs -o mode=0755 run /newroot/run || die "cannot mount /run"
$B mkdir -p $X
$B mount -t 9p -o $O results $X || die "cannot mount the results export"
$B mount -t proc proc /newroot/proc
$B mount -t sysfs sys /newroot/sys
$B mount -t devtmpfs dev /newroot/dev
$B mkdir -p /newroot/dev/pts /newroot/dev/shm
$B mount -t devpts devpts /newroot/dev/pts
$B mount -t tmpfs shm /newroot/dev/shm
$B mount -t tmpfs -o mode=1777 tmp /newroot/tmp
$B mount -t tmpfs -o mode=1777 vartmp /newroot/var/tmp
$B mount -t tmpfs -o mode=0700 root /newroot/root
# The working directory comes as its own read-only export, mounted at its host path after
# the tmpfs mounts, so a checkout under /tmp (as CI's may be) stays visible.
W=$($B cat $X/workdir)
$B mkdir -p "/newroot$W" 2>/dev/null
$B mount -t 9p -o $O,ro,cache=loose work "/newroot$W" || die "cannot mount the working directory"
$B hostname holbench-vm
$B ip link set lo up
say "${BOOTED_MARKER} uptime=$($B cut -d' ' -f1 /proc/uptime)"
if [ -s $X/modules ]; then
  $B chroot /newroot /usr/bin/xargs -a ${GUEST_XDIR}/modules /sbin/modprobe -a > $X/modprobe.log 2>&1 || say "modprobe failed: $($B cat $X/modprobe.log)"
fi
$B chroot /newroot /usr/bin/xargs -0 -a ${GUEST_XDIR}/argv /bin/sh -c 'cd "$1" || exit 97; shift; "$@" < /dev/null > ${GUEST_XDIR}/stdout 2> ${GUEST_XDIR}/stderr; echo $? > ${GUEST_XDIR}/rc' sh
$B sync
say "${DONE_MARKER} rc=$($B cat $X/rc 2>/dev/null) uptime=$($B cut -d' ' -f1 /proc/uptime)"
$B umount $X
$B poweroff -f
`;

export interface Initramfs {
  path: string;
  kernel: KernelInfo;
  modules: string[];
  cached: boolean;
}

/** Build (or reuse from the cache) the initramfs for `kernel`. */
export async function buildInitramfs(kernel: KernelInfo, opts: { cacheDir?: string } = {}): Promise<Initramfs> {
  const busybox = findBusybox();
  if (typeof busybox !== 'string') throw new Error(busybox.error);
  const modules = await moduleChain(kernel.kver, BOOT_MODULES);
  const bb = statSync(busybox);
  const key = createHash('sha256')
    .update(JSON.stringify({ kver: kernel.kver, modules, busybox, size: bb.size, mtime: bb.mtimeMs, init: INIT_SCRIPT }))
    .digest('hex')
    .slice(0, 16);
  const cacheDir = opts.cacheDir ?? process.env.HOLBENCH_VM_CACHE ?? join(tmpdir(), 'holbench-vm-cache');
  const path = join(cacheDir, `initramfs-${kernel.kver}-${key}.cpio`);
  if (existsSync(path)) return { path, kernel, modules, cached: true };

  const entries: CpioEntry[] = [
    { name: 'bin', mode: S_IFDIR | 0o755 },
    { name: 'bin/busybox', mode: S_IFREG | 0o755, data: readFileSync(busybox) },
    { name: 'dev', mode: S_IFDIR | 0o755 },
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'proc', mode: S_IFDIR | 0o755 },
    { name: 'sys', mode: S_IFDIR | 0o755 },
    { name: 'newroot', mode: S_IFDIR | 0o755 },
    { name: 'modules', mode: S_IFDIR | 0o755 },
  ];
  const list: string[] = [];
  for (const [i, m] of modules.entries()) {
    const file = `${String(i).padStart(2, '0')}-${basename(m).replace(/\.(xz|zst|gz)$/, '')}`;
    entries.push({ name: `modules/${file}`, mode: S_IFREG | 0o644, data: await moduleBytes(m) });
    list.push(file);
  }
  entries.push({ name: 'modules.list', mode: S_IFREG | 0o644, data: Buffer.from(list.join('\n') + '\n') });
  entries.push({ name: 'init', mode: S_IFREG | 0o755, data: Buffer.from(INIT_SCRIPT) });

  await mkdir(cacheDir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, cpioNewc(entries));
  await rename(tmp, path); // atomic: concurrent builders produce identical files
  return { path, kernel, modules, cached: false };
}
