// The `helper` backend: our NFQUEUE program (netem/helper/impair.c) in the router namespace.
//
// iptables rules in the router's FORWARD chain send every packet leaving `to-server`
// (uplink) to queue QUEUE_UP and every packet leaving `to-client` (downlink) to QUEUE_DOWN.
// The helper holds each packet and gives its verdict when the emulated path would have
// delivered it. Queue numbers are per network namespace, so fixed numbers are fine.
//
// Failure mode to respect: while the rules exist and no program is bound to the queues,
// the kernel DROPS every forwarded packet (we deliberately do not use --queue-bypass, which
// would silently turn the impairment off). So if the helper exits unexpectedly, every
// pending and later call rejects with HelperDiedError, and a line goes to stderr.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendStats, DirectionStats, DropEvent, ImpairmentBackend, QueueDelayStats, ReseedResult } from '../backend.ts';
import { haveCommand, run, start } from '../../proc/exec.ts';
import { ensureHelperBinary } from '../helper/build.ts';
import { onCleanup } from '../../proc/lifecycle.ts';
import { checkSeed } from '../seed.ts';
import type { Direction, LinkImpairment, LossModel, NetworkProfile } from '../profile.ts';
import type { Topology } from '../topology.ts';

export const QUEUE_UP = 1;
export const QUEUE_DOWN = 2;
/** Bytes the rate limiter adds to each IP packet: the Ethernet header, which is what
 *  tc-netem counts on a veth (qdisc_pkt_len), so both backends shape the same way. */
export const RATE_OVERHEAD_BYTES = 14;
const REQUEST_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 10_000;

export class HelperDiedError extends Error {
  readonly code = 'HOLBENCH_HELPER_DIED';
}

export class HelperCommandError extends Error {
  readonly code = 'HOLBENCH_HELPER_COMMAND';
}

// ---------------------------------------------------------------- profile -> helper config

function lossArg(l: LossModel): string {
  if (l.kind === 'random') return `random:${l.pct}`;
  if (l.kind === 'ge') return `ge:${l.p}:${l.r}:${l.oneMinusH}:${l.oneMinusK}`;
  if (l.kind === 'burst') return `burst:${Math.round(l.meanGoodMs * 1000)}:${Math.round(l.meanBadMs * 1000)}:${l.lossInBadPct}:${l.lossInGoodPct}`;
  return 'none';
}

/** key=value settings for one direction (everything but the seed). Pure. */
export function helperLinkArgs(l: LinkImpairment): string[] {
  return [
    `delay_us=${Math.round(l.delayMs * 1000)}`,
    `jitter_us=${Math.round(l.jitterMs * 1000)}`,
    `dist=${l.jitterDist}`,
    `loss=${lossArg(l.loss)}`,
    `rate_bps=${l.rateBps ? Math.round(l.rateBps) : 0}`,
    `limit=${l.queuePackets}`,
    `reorder=${l.reorder ? 1 : 0}`,
    `overhead=${RATE_OVERHEAD_BYTES}`,
    // always sent (a live update must be able to remove them); the helper keeps an already
    // loaded trace, and its clock, when the same file is named again
    `trace=${l.trace ? encodeURIComponent(l.trace.file) : 'none'}`,
    `limit_bytes=${l.queueBytes ?? 0}`,
    `limit_us=${l.queueMs ? Math.round(l.queueMs * 1000) : 0}`,
    `aqm=${l.aqm ? `codel:${Math.round(l.aqm.targetMs * 1000)}:${Math.round(l.aqm.intervalMs * 1000)}` : 'none'}`,
    `reorder_pct=${l.reorderPct ?? 0}`,
    `reorder_gap=${l.reorderGap ?? 1}`,
  ];
}

/** The helper's `reseed` command: both directions, both streams, GE state, packet index. Pure. */
export function helperReseedCommand(seed: number): string {
  checkSeed(seed);
  return `reseed ${seed}`;
}

/** The helper's `set` commands for a profile. Pure; the helper derives one PRNG stream per
 *  direction (and per purpose: loss, jitter) from the one seed. With `withSeed` false the
 *  PRNGs keep running (a live update must not restart the drop sequence). */
export function helperConfig(p: NetworkProfile, withSeed = true): { uplink: string; downlink: string } {
  const seed = withSeed ? [`seed=${p.seed}`] : [];
  return {
    uplink: ['set', 'up', ...helperLinkArgs(p.uplink), ...seed].join(' '),
    downlink: ['set', 'down', ...helperLinkArgs(p.downlink), ...seed].join(' '),
  };
}

// ---------------------------------------------------------------- the helper process

interface RawDir {
  packets: number;
  delivered: number;
  drops: { loss: number; queue: number; outage: number; aqm: number; other: number };
  held: number;
  queue_peak: number;
  lateness_us: { p50: number; p99: number; max: number; n: number };
  /** the seed this direction's streams were last (re)started from */
  seed: number;
  /** packets (= loss decisions) since that restart */
  since_seed: number;
}
export interface HelperRawStats {
  uplink: RawDir;
  downlink: RawDir;
  enobufs: number;
  netlink_errors: number;
  send_errors: number;
}

/** A running impair process and its line protocol (see impair.c's header). */
class HelperProcess {
  private child: ChildProcess;
  private nextId = 1;
  private pending = new Map<number, { resolve: (s: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private outBuf = '';
  private errTail = '';
  private stopping = false;
  failure: Error | null = null;
  /** where the (unlinked) drop log can be read while the helper lives: /proc/<pid>/fd/<n> */
  droplogPath: string | null = null;
  readonly exited: Promise<void>;
  private readyWaiter: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(bin: string, ns: string, droplog: string, private onDeath: (e: Error) => void) {
    this.child = start(bin, ['--queue-up', String(QUEUE_UP), '--queue-down', String(QUEUE_DOWN), '--droplog', droplog], {
      ns,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => this.onStdout(d));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => {
      this.errTail = (this.errTail + d).slice(-4000);
    });
    this.child.stdin!.on('error', () => {
      /* EPIPE after an exit: reported through 'exit' */
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.onExit(code, signal);
        resolve();
      });
      this.child.once('error', (err) => {
        this.onExit(null, null, err);
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  ready(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new HelperDiedError(`impairment helper did not print READY within ${READY_TIMEOUT_MS} ms; stderr: ${this.errTail.trim()}`)), READY_TIMEOUT_MS);
      this.readyWaiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  private onStdout(d: string) {
    this.outBuf += d;
    let nl: number;
    for (let guard = 0; (nl = this.outBuf.indexOf('\n')) >= 0 && guard < 100_000; guard++) {
      const line = this.outBuf.slice(0, nl);
      this.outBuf = this.outBuf.slice(nl + 1);
      if (line.startsWith('READY')) {
        this.droplogPath = /droplog=(\S+)/.exec(line)?.[1] ?? null;
        this.readyWaiter?.resolve();
        this.readyWaiter = null;
        continue;
      }
      const m = /^(\d+) (ok|err)(?: (.*))?$/.exec(line);
      const p = m ? this.pending.get(Number(m[1])) : undefined;
      if (!m || !p) continue;
      this.pending.delete(Number(m[1]));
      clearTimeout(p.timer);
      if (m[2] === 'ok') p.resolve(m[3] ?? '');
      else p.reject(new HelperCommandError(`impairment helper rejected a command: ${m[3]}`));
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, err?: Error) {
    if (this.failure) return; // 'error' and 'exit' can both fire
    const how = err ? `failed to start (${err.message})` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const e = this.stopping
      ? new HelperDiedError('impairment helper has been stopped (backend torn down)')
      : new HelperDiedError(
          `impairment helper (pid ${this.child.pid}) ${how} unexpectedly; NFQUEUE now drops all forwarded traffic in the router namespace, so results after this point are invalid${this.errTail.trim() ? `; helper stderr: ${this.errTail.trim()}` : ''}`,
        );
    this.failure = e;
    this.readyWaiter?.reject(e);
    this.readyWaiter = null;
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    if (!this.stopping) this.onDeath(e);
  }

  /** Send one command line; resolves with the text after "ok". */
  request(cmd: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HelperCommandError(`impairment helper did not answer "${cmd}" within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.child.stdin!.write(`${id} ${cmd}\n`);
    });
  }

  /** Ask the helper to quit (it releases held packets and unbinds), SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (this.failure) return;
    this.stopping = true;
    this.child.stdin!.end();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(killer);
  }
}

// ---------------------------------------------------------------- the backend

function toDirectionStats(r: RawDir): DirectionStats {
  return {
    packets: r.packets,
    delivered: r.delivered,
    drops: { ...r.drops },
    queuePeak: r.queue_peak,
    latenessUs: { p50: r.lateness_us.p50, p99: r.lateness_us.p99, max: r.lateness_us.max },
    sinceReseed: r.since_seed,
  };
}

const DIR_CODE: Record<string, Direction> = { up: 'uplink', down: 'downlink' };

/** Parse the helper's drop log (CSV lines, see impair.c), keeping events at or after sinceMs. */
export function parseDropLog(text: string, sinceMs: number): DropEvent[] {
  const out: DropEvent[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(',');
    if (f.length !== 6) continue; // includes a torn last line
    const tMs = Number(f[0]);
    const direction = DIR_CODE[f[1]!];
    if (!(tMs >= sinceMs) || !direction) continue;
    out.push({
      tMs,
      direction,
      cause: f[2] as DropEvent['cause'],
      proto: f[3] as DropEvent['proto'],
      srcPort: Number(f[4]),
      dstPort: Number(f[5]),
    });
  }
  return out;
}

export class HelperBackend implements ImpairmentBackend {
  readonly name = 'helper' as const;
  private proc: HelperProcess | null = null;
  private rules: string[][] = [];
  /** the seed of the last profile applied: update() restarts the streams only when the
   *  profile's seed changes, never because a reseed() moved them to a job seed */
  private profileSeed: number | null = null;
  private unregister: (() => void) | null = null;
  private tornDown: Promise<void> | null = null;
  private deathListeners: ((e: Error) => void)[] = [];
  /** where the helper creates its drop log; it unlinks it at once (see impair.c) */
  private readonly droplogCreatePath: string;

  constructor(private topo: Topology) {
    this.droplogCreatePath = join(tmpdir(), `holbench-helper-${topo.runId}-${process.pid}.csv`);
  }

  /** the live drop log (/proc/<pid>/fd/<n>), null before apply() */
  get droplogPath(): string | null {
    return this.proc?.droplogPath ?? null;
  }

  /** pid of the impair process (tests kill it to check death detection). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Called once if the helper dies while the backend is live. */
  onDeath(fn: (e: Error) => void): void {
    this.deathListeners.push(fn);
  }

  private live(): HelperProcess {
    if (this.tornDown) throw new HelperDiedError('impairment helper backend was torn down');
    if (!this.proc) throw new Error('helper backend: apply() has not been called');
    if (this.proc.failure) throw this.proc.failure;
    return this.proc;
  }

  async apply(profile: NetworkProfile): Promise<void> {
    if (this.proc) throw new Error('helper backend: apply() called twice (use update())');
    this.unregister = onCleanup(() => this.teardown());
    const bin = await ensureHelperBinary();
    const proc = new HelperProcess(bin, this.topo.ns.router, this.droplogCreatePath, (e) => {
      process.stderr.write(`holbench: ERROR: ${e.message}\n`);
      for (const fn of this.deathListeners) fn(e);
    });
    this.proc = proc;
    await proc.ready();
    const cfg = helperConfig(profile, true);
    await proc.request(cfg.uplink);
    await proc.request(cfg.downlink);
    this.profileSeed = profile.seed;
    // Only now divert traffic: the queues are bound and configured.
    const ipt = (egress: string, q: number) => ['FORWARD', '-o', egress, '-j', 'NFQUEUE', '--queue-num', String(q)];
    for (const spec of [ipt(this.topo.egress.uplink, QUEUE_UP), ipt(this.topo.egress.downlink, QUEUE_DOWN)]) {
      await run('iptables', ['-w', '5', '-A', ...spec], { ns: this.topo.ns.router });
      this.rules.push(spec);
    }
  }

  async update(profile: NetworkProfile): Promise<void> {
    const proc = this.live();
    const reseed = profile.seed !== this.profileSeed;
    const cfg = helperConfig(profile, reseed);
    await proc.request(cfg.uplink);
    await proc.request(cfg.downlink);
    this.profileSeed = profile.seed;
  }

  /** Exact: one `reseed` command restarts both directions under both locks (see impair.c,
   *  "Pairing"). Every packet takes a fixed number of draws, so decision k depends on
   *  (seed, direction, k) only; queued packets are untouched. Time-based burst loss and a
   *  trace restart on the clock at the reseed, so they are paired by time since it. */
  async reseed(seed: number): Promise<ReseedResult> {
    const cmd = helperReseedCommand(seed);
    await this.live().request(cmd);
    return {
      exact: true,
      note: `helper: loss PRNG, Gilbert-Elliott state, jitter and reorder PRNGs of both directions restarted from seed ${seed}; the k-th packet in each direction meets the same loss decision, jitter and reorder decision for the same seed, independent of timing and of other packets' fates; a time-based burst-loss clock and a delivery trace restart at the reseed (same burst timing and trace phase from each job's start)`,
    };
  }

  async setBlackhole(direction: Direction | 'both', on: boolean): Promise<void> {
    const d = direction === 'both' ? 'both' : direction === 'uplink' ? 'up' : 'down';
    await this.live().request(`blackhole ${d} ${on ? 1 : 0}`);
  }

  /** Everything the helper reports, including lateness sample counts and netlink counters. */
  async rawStats(): Promise<HelperRawStats> {
    return JSON.parse(await this.live().request('stats')) as HelperRawStats;
  }

  /** Queue delay per direction since the previous call (the first call after apply(): since
   *  apply); each call starts a new window. */
  async queueDelay(): Promise<{ uplink: QueueDelayStats; downlink: QueueDelayStats }> {
    return JSON.parse(await this.live().request('qdelay')) as { uplink: QueueDelayStats; downlink: QueueDelayStats };
  }

  async stats(): Promise<BackendStats> {
    const r = await this.rawStats();
    return { backend: 'helper', uplink: toDirectionStats(r.uplink), downlink: toDirectionStats(r.downlink) };
  }

  async drops(sinceMs: number): Promise<DropEvent[]> {
    const proc = this.live();
    await proc.request('flush');
    if (!proc.droplogPath || proc.droplogPath === '-') throw new Error('impairment helper has no drop log');
    return parseDropLog(await readFile(proc.droplogPath, 'utf8'), sinceMs);
  }

  teardown(): Promise<void> {
    this.tornDown ??= this.doTeardown();
    return this.tornDown;
  }

  private async doTeardown(): Promise<void> {
    // Rules first: with the helper gone they would black-hole the path.
    for (const spec of this.rules.splice(0)) {
      await run('iptables', ['-w', '5', '-D', ...spec], { ns: this.topo.ns.router, allowFail: true });
    }
    await this.proc?.stop();
    await rm(this.droplogCreatePath, { force: true }); // normally already unlinked by the helper
    this.unregister?.();
    this.unregister = null;
  }
}

export function createHelperBackend(topo: Topology): ImpairmentBackend {
  return new HelperBackend(topo);
}

// ---------------------------------------------------------------- availability

let availability: Promise<{ ok: boolean; reason: string }> | null = null;

/** Can the helper run here? Checks iptables, a compiler (builds the binary), and that the
 *  kernel has the NFQUEUE target and nfnetlink_queue, in a throwaway namespace that is
 *  always deleted. The answer is cached for the process. */
export function helperAvailable(): Promise<{ ok: boolean; reason: string }> {
  availability ??= checkAvailable();
  return availability;
}

async function checkAvailable(): Promise<{ ok: boolean; reason: string }> {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (network namespaces, iptables, NFQUEUE)' };
  if (!(await haveCommand('iptables'))) return { ok: false, reason: 'iptables not found (apt-get install iptables)' };
  if (!(await haveCommand('ip'))) return { ok: false, reason: 'ip (iproute2) not found' };
  let bin: string;
  try {
    bin = await ensureHelperBinary();
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const ns = `holbench-probe-${process.pid}`;
  await run('ip', ['netns', 'del', ns], { allowFail: true });
  try {
    await run('ip', ['netns', 'add', ns]);
    const r = await run('iptables', ['-w', '5', '-A', 'FORWARD', '-j', 'NFQUEUE', '--queue-num', String(QUEUE_UP)], { ns, allowFail: true });
    if (r.exitCode !== 0) return { ok: false, reason: `iptables NFQUEUE target unusable: ${r.stderr.trim()}` };
    const c = await run(bin, ['--queue-up', String(QUEUE_UP), '--queue-down', String(QUEUE_DOWN), '--check'], { ns, allowFail: true, timeoutMs: 10_000 });
    if (c.exitCode !== 0 || !c.stdout.includes('READY')) return { ok: false, reason: `cannot bind NFQUEUE (nfnetlink_queue): ${c.stderr.trim()}` };
    return { ok: true, reason: `NFQUEUE helper usable (${bin})` };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  } finally {
    // iptables rules live in the namespace and vanish with it
    await run('ip', ['netns', 'del', ns], { allowFail: true });
    if (existsSync(`/run/netns/${ns}`)) process.stderr.write(`holbench: warning: could not delete probe namespace ${ns}\n`);
  }
}
