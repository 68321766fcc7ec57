// Test helper: a private one-node Slurm cluster on this machine (Debian slurm-wlm 22.05 and
// munge). Everything it uses lives in one temporary state folder: its own munge key and
// munged socket (slurm.conf AuthInfo=socket=...), its own ports, state, spool, pid and log
// files, so it disturbs neither /etc/munge nor a cluster the machine may run. stop() kills
// the three daemons it started (by their own pids) and removes the folder; it is also
// registered with proc/lifecycle so a signal tears the cluster down too.
import { mkdtemp, mkdir, rm, writeFile, chmod, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { run, start } from '../../../proc/exec.ts';
import { onCleanup } from '../../../proc/lifecycle.ts';

export interface SlurmCluster {
  dir: string;
  /** environment for sbatch/squeue/sacct: SLURM_CONF pointing at the private slurm.conf */
  env: Record<string, string>;
  /** daemon logs, for failure messages */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

/** The daemons a test needs; absent ones make the test skip with this list. */
export const SLURM_BINARIES = ['/usr/sbin/munged', '/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/bin/sbatch', '/usr/bin/squeue', '/usr/bin/scontrol'];

/** A free TCP port on loopback (bound, read, released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function stopChild(c: ChildProcess, name: string): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
  void name;
}

/** Start munged, slurmctld and slurmd; resolves when the node is idle (accepts jobs). */
export async function startSlurmCluster(o: { cpus?: number; timeoutMs?: number } = {}): Promise<SlurmCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'holbench-slurm-'));
  await chmod(dir, 0o700);
  const children: { c: ChildProcess; name: string; log: string[] }[] = [];
  let stopped = false;
  let conf: string | null = null;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // jobs first: slurmstepd outlives a stopped slurmd, so a test that failed mid-run would
    // leave its job steps (holbench runs) going; cancel them and wait (bounded) for the queue
    if (conf) {
      const slurm = (cmd: string, args: string[]) => run('env', [`SLURM_CONF=${conf}`, cmd, ...args], { allowFail: true, timeoutMs: 10_000 });
      await slurm('/usr/bin/scancel', ['--full', '--user=root']);
      for (let i = 0; i < 60; i++) {
        const q = await slurm('/usr/bin/squeue', ['-h']);
        if (q.exitCode !== 0 || q.stdout.trim() === '') break;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    // slurmd first (it owns the job steps), then the controller, then munge
    for (const ch of [...children].reverse()) await stopChild(ch.c, ch.name);
    await rm(dir, { recursive: true, force: true });
  };
  const unregister = onCleanup(stop);
  const spawnDaemon = (name: string, cmd: string, args: string[]) => {
    const log: string[] = [];
    const c = start(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      log.push(d.toString());
      if (log.length > 200) log.shift();
    };
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    children.push({ c, name, log });
    return c;
  };
  const logs = async () => {
    const files = await Promise.all(['slurmctld.log', 'slurmd.log'].map((f) => readFile(join(dir, f), 'utf8').catch(() => '')));
    return [...children.map((ch) => `--- ${ch.name}\n${ch.log.join('').slice(-3000)}`), ...files.map((t, i) => `--- ${['slurmctld.log', 'slurmd.log'][i]}\n${t.slice(-3000)}`)].join('\n');
  };
  try {
    // munge: a private key (1024 random bytes, mode 400) and socket
    const mungeDir = join(dir, 'munge');
    await mkdir(mungeDir, { mode: 0o711 });
    const key = join(dir, 'munge.key');
    await writeFile(key, randomBytes(1024), { mode: 0o400 });
    const sock = join(mungeDir, 'munge.sock');
    spawnDaemon('munged', '/usr/sbin/munged', ['-F', '--force', `--key-file=${key}`, `--socket=${sock}`, `--pid-file=${join(mungeDir, 'munged.pid')}`, `--seed-file=${join(mungeDir, 'seed')}`]);
    for (let i = 0; ; i++) {
      if ((await run('/usr/bin/munge', ['-S', sock, '-n'], { allowFail: true })).exitCode === 0) break;
      if (i > 50) throw new Error(`munged did not start:\n${await logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const host = (await run('hostname', ['-s'])).stdout.trim() || hostname();
    const [ctlPort, dPort] = [await freePort(), await freePort()];
    for (const d of ['state', 'spool']) await mkdir(join(dir, d));
    conf = join(dir, 'slurm.conf');
    await writeFile(
      conf,
      [
        'ClusterName=holbenchtest',
        `SlurmctldHost=${host}`,
        `SlurmctldPort=${ctlPort}`,
        `SlurmdPort=${dPort}`,
        'SlurmUser=root',
        'SlurmdUser=root',
        'AuthType=auth/munge',
        'CredType=cred/munge',
        `AuthInfo=socket=${sock}`,
        `StateSaveLocation=${join(dir, 'state')}`,
        `SlurmdSpoolDir=${join(dir, 'spool')}`,
        `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
        `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
        `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
        `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_Core',
        'SchedulerType=sched/backfill',
        'AccountingStorageType=accounting_storage/none',
        'JobAcctGatherType=jobacct_gather/none',
        'JobCompType=jobcomp/none',
        'MpiDefault=none',
        'ReturnToService=2',
        'SlurmdTimeout=60',
        'InactiveLimit=0',
        'KillWait=5',
        'MinJobAge=600',
        `NodeName=${host} CPUs=${o.cpus ?? 2} RealMemory=1000 State=UNKNOWN`,
        `PartitionName=holbench Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
        '',
      ].join('\n'),
    );
    const env = { SLURM_CONF: conf };
    // -D: stay in the foreground (our child, our pid); -i: ignore state from earlier runs
    spawnDaemon('slurmctld', '/usr/sbin/slurmctld', ['-D', '-i', '-f', conf]);
    spawnDaemon('slurmd', '/usr/sbin/slurmd', ['-D', '-f', conf, '-N', host]);
    const deadline = Date.now() + (o.timeoutMs ?? 60_000);
    for (;;) {
      const r = await run('env', [`SLURM_CONF=${conf!}`, '/usr/bin/sinfo', '-h', '-N', '-o', '%T'], { allowFail: true });
      if (r.exitCode === 0 && /^idle/m.test(r.stdout)) break;
      if (children.some((ch) => ch.c.exitCode !== null)) throw new Error(`a Slurm daemon exited:\n${await logs()}`);
      if (Date.now() > deadline) throw new Error(`the Slurm node did not become idle (sinfo: ${r.stdout.trim()} ${r.stderr.trim()}):\n${await logs()}`);
      await new Promise((r2) => setTimeout(r2, 500));
    }
    return { dir, env, logs, stop: async () => (await stop(), unregister()) };
  } catch (e) {
    await stop();
    unregister();
    throw e;
  }
}
