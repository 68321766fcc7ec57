// Starting, probing and stopping the external servers of a run (caddy, nginx, the user's own
// command) in the server namespace, once per run each. Every process runs in its own process
// group, its stdout and stderr go to results/<run>/servers/<name>.log, and stop() ends the
// group (SIGTERM, then SIGKILL) and waits for it: the runner calls stop() from its teardown,
// which proc/lifecycle also runs on a signal (and the topology's teardown kills whatever is
// left in the namespace). A server that exits early or is not ready in time makes its jobs
// FAILED with the reason; the rest of the run goes on.
import { closeSync, openSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { start, tsArgv } from '../../proc/exec.ts';
import { SERVER_NAME, type RunCert } from '../../servers/cert.ts';
import { PROTOCOL_TABLE } from '../protocols.ts';
import type { ProtocolSpec } from '../scenario/load.ts';
import type { Workload } from '../scenario/schema.ts';
import { caddyfile, nginxConf, type StaticConfigInput } from './configs.ts';
import { objectSizes, writeObjects } from './objects.ts';
import { READY_MAIN, type ReadyProbe } from './ready.ts';
import { serverKey, serverName, STATIC_PORTS, type ExternalServer } from './spec.ts';
import { nginxNoH3, SERVER_PACKAGE, serverInstall } from './installed.ts';

/** How long caddy and nginx get to answer (user servers: their start_timeout_s). */
const STATIC_START_TIMEOUT_S = 20;
/** SIGTERM -> SIGKILL grace when stopping a server's process group. */
const STOP_GRACE_MS = 5000;

export type JobTarget = { port: number; transport: 'tcp' | 'udp' } | { status: 'FAILED' | 'UNSUPPORTED'; reason: string };

export interface ExternalServers {
  /** where a job of `proto` (an entry with a server) goes, or why it cannot run now */
  target(proto: ProtocolSpec): JobTarget;
  /** run.json `external_servers` */
  provenance: Record<string, unknown>[];
  stop(): Promise<void>;
}

export interface StartOptions {
  ns: string;
  host: string;
  protocols: ProtocolSpec[];
  workload: Workload;
  outDir: string;
  tls: RunCert;
  /** user commands run here (the scenario file's folder) */
  cwd: string;
}

interface Running {
  name: string;
  proc: ChildProcess | null;
  exit: { code: number | null; signal: string | null } | null;
  /** set when the server cannot serve: every job of it gets this */
  failed?: { status: 'FAILED' | 'UNSUPPORTED'; reason: string };
  /** per protocol (label) reasons, e.g. nginx without HTTP/3 */
  unsupported: Map<string, string>;
  ports: { tls: number; clear: number };
  logFile: string;
  prov: Record<string, unknown>;
}

const tail = async (file: string) => {
  const t = (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
  return t.length > 300 ? '...' + t.slice(-300) : t;
};

export async function startExternalServers(o: StartOptions): Promise<ExternalServers> {
  const groups = new Map<string, { server: ExternalServer; entries: ProtocolSpec[] }>();
  for (const p of o.protocols) {
    if (!p.server) continue;
    const k = serverKey(p.server);
    const g = groups.get(k) ?? { server: p.server, entries: [] };
    g.entries.push(p);
    groups.set(k, g);
  }
  const running = new Map<string, Running>();
  let tmp: string | null = null;
  const stop = async () => {
    for (const r of running.values()) await stopGroup(r);
    if (tmp) await rm(tmp, { recursive: true, force: true }).catch(() => {});
    tmp = null;
  };
  const ext: ExternalServers = {
    provenance: [],
    stop,
    target(proto) {
      const r = running.get(serverKey(proto.server!));
      if (!r) return { status: 'FAILED', reason: 'external server not started' };
      const u = r.unsupported.get(proto.label);
      if (u) return { status: 'UNSUPPORTED', reason: u };
      if (r.failed) return r.failed;
      if (r.exit) return { status: 'FAILED', reason: `${r.name} exited (${r.exit.signal ?? `code ${r.exit.code}`}) during the run; see ${relative(o.outDir, r.logFile)}` };
      return { port: proto.tls ? r.ports.tls : r.ports.clear, transport: PROTOCOL_TABLE[proto.protocol].transport };
    },
  };
  if (!groups.size) return ext;
  try {
    tmp = await mkdtemp(join(tmpdir(), 'holbench-ext-'));
    await chmod(tmp, 0o755); // nginx's workers (nobody) read the objects below it
    const objects = await writeObjects(join(tmp, 'www'), objectSizes(o.workload));
    const certFile = join(tmp, 'cert.pem');
    const keyFile = join(tmp, 'key.pem');
    await writeFile(certFile, o.tls.cert, { mode: 0o644 });
    await writeFile(keyFile, o.tls.key, { mode: 0o600 });
    const logDir = join(o.outDir, 'servers');
    await mkdir(logDir, { recursive: true });
    for (const [key, g] of groups) {
      const name = serverName(g.server);
      const r: Running = { name, proc: null, exit: null, unsupported: new Map(), ports: { tls: 0, clear: 0 }, logFile: join(logDir, `${name}.log`), prov: { name, serves: g.entries.map((e) => e.label) } };
      running.set(key, r);
      ext.provenance.push(r.prov);
      const state = join(tmp, name);
      await mkdir(state, { recursive: true });
      const cfg: StaticConfigInput = { host: o.host, tlsPort: 0, clearPort: 0, root: join(tmp, 'www'), certFile, keyFile, dir: state };
      let argv: string[];
      let env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state, XDG_DATA_HOME: state, XDG_CONFIG_HOME: state };
      let cwd = state;
      let readyPath = `/bytes/${objects.manifest[0]?.bytes ?? 0}`;
      let timeoutS = STATIC_START_TIMEOUT_S;
      if (typeof g.server === 'string') {
        const inst = await serverInstall(g.server);
        if (!inst.installed) {
          r.failed = { status: 'UNSUPPORTED', reason: `${g.server} is not installed (Debian package ${SERVER_PACKAGE[g.server]})` };
          continue;
        }
        r.prov.version = inst.version;
        r.ports = STATIC_PORTS[g.server];
        Object.assign(cfg, { tlsPort: r.ports.tls, clearPort: r.ports.clear });
        let config: string;
        let configFile: string;
        if (g.server === 'caddy') {
          config = caddyfile(cfg);
          configFile = join(logDir, 'Caddyfile');
          argv = ['caddy', 'run', '--config', configFile, '--adapter', 'caddyfile'];
        } else {
          const h3 = inst.http3;
          r.prov.http3_module = h3;
          if (!h3) for (const e of g.entries.filter((x) => x.protocol === 'h3')) r.unsupported.set(e.label, nginxNoH3(inst.version));
          config = nginxConf({ ...cfg, h3, errorLog: r.logFile });
          configFile = join(logDir, 'nginx.conf');
          argv = ['nginx', '-c', configFile, '-p', state, '-e', r.logFile];
        }
        await writeFile(configFile, config);
        Object.assign(r.prov, { config_file: relative(o.outDir, configFile), config, ports: r.ports, command: argv });
        if (g.entries.every((e) => r.unsupported.has(e.label))) continue; // nothing it can serve: not started
      } else {
        const u = g.server;
        r.ports = { tls: u.port, clear: u.port };
        argv = u.command;
        cwd = o.cwd;
        readyPath = u.ready_path;
        timeoutS = u.start_timeout_s;
        env = {
          ...env,
          HOLBENCH_HOST: o.host,
          HOLBENCH_PORT: String(u.port),
          HOLBENCH_PROTOCOLS: [...new Set(g.entries.map((e) => (PROTOCOL_TABLE[e.protocol].transport === 'udp' ? e.protocol : `${e.protocol}${e.tls ? '' : '-clear'}`)))].join(','),
          HOLBENCH_TLS_CERT: certFile,
          HOLBENCH_TLS_KEY: keyFile,
          HOLBENCH_SERVER_NAME: SERVER_NAME,
          HOLBENCH_OBJECTS_DIR: join(tmp, 'www'),
          HOLBENCH_OBJECTS_JSON: objects.manifestFile,
          HOLBENCH_READY_PATH: u.ready_path,
        };
        Object.assign(r.prov, { kind: 'user', command: u.command, cwd, port: u.port, ready_path: u.ready_path, start_timeout_s: u.start_timeout_s, env: Object.keys(env).filter((k) => k.startsWith('HOLBENCH_')) });
      }
      r.prov.log_file = relative(o.outDir, r.logFile);
      const t0 = Date.now();
      const fd = openSync(r.logFile, 'a');
      try {
        const proc = start(argv[0]!, argv.slice(1), { ns: o.ns, cwd, env, stdio: ['ignore', fd, fd], detached: true });
        r.proc = proc;
        proc.once('exit', (code, signal) => (r.exit = { code, signal }));
        proc.once('error', () => (r.exit ??= { code: null, signal: 'spawn error' }));
      } finally {
        closeSync(fd);
      }
      const probeEntry = g.entries.find((e) => !r.unsupported.has(e.label))!;
      const problem = await waitReady(r, {
        host: o.host, port: probeEntry.tls ? r.ports.tls : r.ports.clear, protocol: probeEntry.protocol, tls: probeEntry.tls,
        caPem: o.tls.cert, servername: SERVER_NAME, path: readyPath, deadlineMs: t0 + timeoutS * 1000,
      }, o.ns);
      if (problem) {
        await stopGroup(r);
        r.failed = { status: 'FAILED', reason: `${problem}; see ${relative(o.outDir, r.logFile)}: ${await tail(r.logFile)}` };
        r.prov.failed = r.failed.reason;
      } else r.prov.ready_ms = Date.now() - t0;
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return ext;
}

/** Wait until a GET of the ready path answers 2xx (ready.ts in the namespace), the server
 *  exits, or the deadline passes. Returns the problem, or null when ready. `deadlineMs` is an
 *  absolute Date.now() value. */
async function waitReady(r: Running, p: ReadyProbe, ns: string): Promise<string | null> {
  const [node, args] = tsArgv(READY_MAIN);
  const probe = start(node, args, { ns, env: { ...process.env, HOLBENCH_READY_PROBE: JSON.stringify(p) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  probe.stdout?.on('data', (d) => (out += d));
  probe.stderr?.on('data', (d) => (out += d));
  const waitS = Math.round((p.deadlineMs - Date.now()) / 100) / 10;
  const what = `GET ${p.path} over ${p.protocol}${p.tls ? '' : ' (cleartext)'} on port ${p.port}`;
  const result = await new Promise<string | null>((resolve) => {
    // the probe's own node start-up may take a while on a busy machine: a hard stop after the deadline
    const hard = setTimeout(() => resolve(`not ready after ${waitS} s (${what}: no answer)`), Math.max(0, p.deadlineMs - Date.now()) + 15_000);
    const onExit = () => resolve(`exited (${r.exit?.signal ?? `code ${r.exit?.code}`}) before it was ready`);
    if (r.exit) return onExit();
    r.proc?.once('exit', () => setImmediate(onExit));
    probe.once('exit', (code) => {
      clearTimeout(hard);
      resolve(code === 0 ? null : `not ready after ${waitS} s (${what}: ${out.trim().split('\n').pop() || `probe exit ${code}`})`);
    });
  });
  if (probe.exitCode === null && probe.signalCode === null) {
    probe.kill('SIGKILL');
    await new Promise((res) => probe.once('exit', res));
  }
  return result && `${r.name} ${result}`;
}

/** End a server's process group: SIGTERM, SIGKILL after STOP_GRACE_MS, wait for the exit. */
async function stopGroup(r: Running): Promise<void> {
  const proc = r.proc;
  if (!proc?.pid) return;
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-proc.pid!, sig);
    } catch {
      /* the group is gone */
    }
  };
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((res) => proc.once('exit', res));
    kill('SIGTERM');
    const t = setTimeout(() => kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(t);
  }
  // what the leader left in its group (nginx workers, a user server's children)
  kill('SIGKILL');
  r.exit ??= { code: proc.exitCode, signal: proc.signalCode };
}
