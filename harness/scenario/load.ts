// Loading a scenario: YAML -> zod (strict) -> a plan of cells. Every problem is reported at
// once, each with its YAML path and line:column, before anything touches the system.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import YAML from 'yaml';
import { issuesOf, normalizeProfile, ProfileError, type NetworkProfile } from '../../netem/profile.ts';
import { ScenarioSchema, type Scenario } from './schema.ts';
import type { Scheduling } from '../../servers/scheduler.ts';
import type { ConnectionMode } from '../drivers/types.ts';
import { parseLabel, protocolDef, protocolLabel, protocolsOf, protocolsWithPattern, resumableProtocols, resolveConnections, resolveTls, type ProtocolName } from '../protocols.ts';
import { safeText } from '../safetext.ts';
import { composeLabel, externalOf, portClashes, serverName, splitServerSuffix, type ExternalServer } from '../extservers/spec.ts';
import { crossFlows, type CrossFlow } from './crosstraffic.ts';
import { CHROMIUM_H1_CONNECTIONS, CHROMIUM_SUFFIX } from '../clients.ts';

/** Scenario files are a few kB. The cap keeps a hostile file within about a second: the
 *  yaml parser needs ~3.5 s and ~1 GB of memory for 1 MB of flow sequence on this machine. */
export const MAX_SCENARIO_BYTES = 128 << 10;
/** Problems listed per file; the rest are counted ("... and N more"). */
export const MAX_PROBLEMS_LISTED = 50;
/** Jobs one run may have (cells x protocols x repetitions); checked before cells are expanded. */
export const MAX_JOBS = 100_000;
/** YAML values (maps, lists, scalars) a file may hold; shipped scenarios have under 100. */
export const MAX_VALUES = 10_000;
/** Alias expansions a file may do (yaml's maxAliasCount): stops alias bombs. */
const MAX_ALIAS_COUNT = 100;
/** The scenario name rule (also applied to a name derived from the file name). */
const NAME_RE = /^[a-zA-Z0-9._-]{1,64}$/;

export class ScenarioError extends Error {
  readonly code = 'HOLBENCH_BAD_SCENARIO';
  /** `problems` may be the first MAX_PROBLEMS_LISTED of `total`. The message puts the first
   *  problem on the first line (CI logs often show one line) and escapes control characters. */
  constructor(
    readonly file: string,
    readonly problems: string[],
    readonly total: number = problems.length,
  ) {
    const shown = problems.slice(0, MAX_PROBLEMS_LISTED).map(safeText);
    const more = total - shown.length;
    super(
      [
        `${safeText(file)}: ${total === 1 ? '' : `${total} problems: `}${shown[0] ?? ''}`,
        ...shown.slice(1).map((p) => `  ${p}`),
        ...(more > 0 ? [`  ... and ${more} more`] : []),
      ].join('\n'),
    );
  }
}

export interface ProtocolSpec {
  protocol: ProtocolName;
  /** transport connections the client may open */
  connections: number;
  /** over TLS (the table's rule applied to the scenario's `tls`) */
  tls: boolean;
  /** label used in outputs: http1.0, http1.1, http1.1x6, http1.1x6-clear, h2, h3; then the
   *  client's and an external server's suffixes: h3@chromium, h3@caddy, h3@chromium@caddy
   *  (harness/extservers/spec.ts composeLabel) */
  label: string;
  /** who serves it: undefined = the holbench server; caddy, nginx or the user's own server */
  server?: ExternalServer;
  /** the page is loaded by Chromium (harness/drivers/chromium.ts); absent: our own drivers */
  client?: 'chromium';
}

export interface Cell {
  /** stable id, e.g. "scheduling=sequential,loss_pct=2" ("base" without a sweep) */
  id: string;
  params: Record<string, number | string>;
  profile: NetworkProfile;
  /** how the cell's jobs begin their connections (scenario `connection`, or its sweep value) */
  connection: ConnectionMode;
  /** the servers' discipline in this cell: the swept value, else the scenario's `scheduling` */
  scheduling: Scheduling;
  /** competing flows run around each job of the cell (scenario cross_traffic; none when swept off) */
  crossTraffic?: CrossFlow[];
}

export interface LoadedScenario {
  file: string;
  name: string;
  scenario: Scenario;
  protocols: ProtocolSpec[];
  cells: Cell[];
}

/** A scenario protocol entry (already checked by the schema) -> its spec. */
export function protocolSpec(p: Scenario['protocols'][number]): ProtocolSpec {
  const split = typeof p === 'string' ? splitServerSuffix(p) : null;
  const o = split ? parseLabel(split.base)! : (p as Exclude<typeof p, string>);
  const { protocol, connections: given, tls: tlsGiven } = o;
  const client = o.client === 'chromium' ? 'chromium' : undefined;
  const server = externalOf(split ? split.server : (p as Exclude<typeof p, string>).server);
  const serverPart = server ? { server } : {};
  // Chromium picks its own pool: 6 connections per origin on HTTP/1.1 (clients.ts)
  if (client) {
    const connections = protocol === 'http1.1' ? CHROMIUM_H1_CONNECTIONS : 1;
    const label = composeLabel(protocolLabel(protocol, connections, protocol === 'http1.1', true), { client, server: server && serverName(server) });
    return { protocol, connections, tls: true, client, label, ...serverPart };
  }
  const r = resolveConnections(protocol, given);
  const t = resolveTls(protocol, tlsGiven);
  // the schema refused both already
  if ('problem' in r) throw new Error(r.problem);
  if ('problem' in t) throw new Error(t.problem);
  const label = composeLabel(protocolLabel(protocol, r.connections, given !== undefined, t.tls), { server: server && serverName(server) });
  return { protocol, connections: r.connections, tls: t.tls, label, ...serverPart };
}

/** Cartesian product of the sweep, in file order; each combination is one cell. */
export function expandCells(s: Scenario, baseDir?: string): Cell[] {
  const sweep = s.sweep ?? {};
  const axes = Object.entries(sweep).filter(([, v]) => Array.isArray(v)) as [string, (number | string)[]][];
  /** sweep axes that are not network parameters */
  const notNetwork = new Set(['connection', 'scheduling', 'cross_traffic']);
  /** sweep axes whose values are names, not numbers (aqm is a network axis with words) */
  const named = new Set([...notNetwork, 'preset', 'aqm']);
  let combos: Record<string, number | string>[] = [{}];
  for (const [key, values] of axes) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: named.has(key) ? v : Number(v) })));
  }
  return combos.map((params) => {
    const net: Record<string, unknown> = { ...s.network, seed: s.network.seed ?? s.seed };
    for (const [k, v] of Object.entries(params)) {
      if (notNetwork.has(k)) continue;
      // a swept preset replaces the scenario's; the scenario's explicit fields still override it
      if (k === 'preset') {
        net.preset = v;
        continue;
      }
      if (k === 'rtt_ms') net.delay_ms = Number(v) / 2;
      else net[k] = v;
      // a swept key applies to both directions: drop per-direction overrides of it
      const key = k === 'rtt_ms' ? 'delay_ms' : k;
      for (const dir of ['uplink', 'downlink'] as const) {
        const o = net[dir] as Record<string, unknown> | undefined;
        if (!o) continue;
        const copy = { ...o };
        delete copy[key];
        if (key === 'loss_pct') delete copy.loss_ge;
        if (key === 'loss_pct') delete copy.loss_burst;
        if (key === 'rate_bps') delete copy.trace;
        net[dir] = copy;
      }
      if (k === 'loss_pct') delete net.loss_ge;
      if (k === 'loss_pct') delete net.loss_burst;
      if (k === 'rate_bps') delete net.trace;
    }
    const id = Object.keys(params).length ? Object.entries(params).map(([k, v]) => `${k}=${v}`).join(',') : 'base';
    const connection = (params.connection as ConnectionMode | undefined) ?? s.connection;
    const scheduling = (params.scheduling as Scheduling | undefined) ?? s.scheduling;
    const crossTraffic = params.cross_traffic === 'off' ? [] : crossFlows(s.cross_traffic, s.tcp_cc);
    return { id, params, profile: normalizeProfile(net as any, 'network', { baseDir }), connection, scheduling, crossTraffic };
  });
}

/** Position "line:col" of a YAML path (or of its closest existing ancestor). */
function positionOf(doc: YAML.Document, lc: YAML.LineCounter, path: (string | number)[], isKey: boolean): string {
  for (let n = path.length; n >= 0; n--) {
    const p = path.slice(0, n);
    if (isKey && n === path.length && p.length) {
      const parent = doc.getIn(p.slice(0, -1), true) as any;
      const pair = parent?.items?.find((it: any) => it?.key?.value === p[p.length - 1]);
      if (pair?.key?.range) {
        const pos = lc.linePos(pair.key.range[0]);
        return `${pos.line}:${pos.col}`;
      }
      continue;
    }
    const node = (p.length ? doc.getIn(p, true) : doc.contents) as any;
    if (node?.range) {
      const pos = lc.linePos(node.range[0]);
      return `${pos.line}:${pos.col}`;
    }
  }
  return '1:1';
}

/** Duplicate keys, found in one pass (yaml's uniqueKeys check is quadratic in the keys of
 *  a map), and a cap on the number of values, so checking them stays fast. Returns
 *  "line:col path: ..." problems. */
function structureProblems(doc: YAML.Document, lc: YAML.LineCounter): string[] {
  const out: string[] = [];
  let values = 0;
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (++values > MAX_VALUES) return;
    if (YAML.isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const k = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(k)) {
          const pos = (pair.key as any)?.range ? lc.linePos((pair.key as any).range[0]) : { line: 1, col: 1 };
          out.push(`${pos.line}:${pos.col} ${[...path, k].join('.')}: duplicate key`);
        }
        seen.add(k);
        walk(pair.value, [...path, k]);
      }
    } else if (YAML.isSeq(node)) node.items.forEach((it, i) => walk(it, [...path, i]));
  };
  walk(doc.contents, []);
  if (values > MAX_VALUES) return [`1:1 (top level): more than ${MAX_VALUES} values (a scenario has a few hundred)`];
  return out;
}

export function parseScenarioText(text: string, file: string): LoadedScenario {
  if (Buffer.byteLength(text) > MAX_SCENARIO_BYTES) throw new ScenarioError(file, [`file is larger than ${MAX_SCENARIO_BYTES} bytes (a scenario is a few kB)`]);
  const lc = new YAML.LineCounter();
  let doc: YAML.Document;
  let raw: unknown;
  try {
    doc = YAML.parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false });
    if (doc.errors.length) {
      throw new ScenarioError(
        file,
        doc.errors.slice(0, MAX_PROBLEMS_LISTED).map((e) => {
          const pos = lc.linePos(e.pos[0]);
          return `${pos.line}:${pos.col} YAML syntax: ${e.message.split('\n')[0]}`;
        }),
        doc.errors.length,
      );
    }
    const dups = structureProblems(doc, lc);
    if (dups.length) throw new ScenarioError(file, dups.slice(0, MAX_PROBLEMS_LISTED), dups.length);
    // aliases resolve here: an undefined alias or an alias bomb throws a ReferenceError
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    // ReferenceError (aliases), RangeError (nesting deeper than the stack)
    const why = e instanceof RangeError ? 'nested too deeply' : (e as Error).message.split('\n')[0];
    throw new ScenarioError(file, [`YAML: ${why}`]);
  }
  const r = ScenarioSchema.safeParse(raw);
  if (!r.success) {
    const issues = issuesOf(r.error, []);
    const problems = issues.slice(0, MAX_PROBLEMS_LISTED).map((i) => {
      const isKey = i.message === 'unknown key';
      return `${positionOf(doc, lc, i.path, isKey)} ${i.path.join('.') || '(top level)'}: ${i.message}`;
    });
    throw new ScenarioError(file, problems, issues.length);
  }
  const scenario = r.data;
  // count before expanding: a few lines of sweep can ask for billions of cells
  const jobs = jobCount(scenario);
  if (jobs.total > MAX_JOBS) {
    throw new ScenarioError(file, [`${positionOf(doc, lc, ['sweep'], false)} sweep: ${tooManyJobs(jobs)}`]);
  }
  let cells: Cell[];
  try {
    cells = expandCells(scenario, dirname(file));
  } catch (e) {
    if (e instanceof ProfileError) {
      throw new ScenarioError(file, e.issues.map((i) => `${positionOf(doc, lc, i.path.split('.'), false)} ${i.path}: ${i.message}`));
    }
    throw e;
  }
  const protocols = scenario.protocols.map(protocolSpec);
  const labels = protocols.map((p) => p.label);
  const dup = labels.find((l, i) => labels.indexOf(l) !== i);
  if (dup) throw new ScenarioError(file, [`${positionOf(doc, lc, ['protocols'], false)} protocols: ${dup} is listed twice`]);
  // protocol x workload fit: say which protocol, where, and what would fit
  const misfits: string[] = [];
  const w = scenario.workload;
  protocols.forEach((p, i) => {
    const at = `${positionOf(doc, lc, ['protocols', i], false)} protocols.${i}`;
    const def = protocolDef(p.protocol);
    const family = w.kind === 'messages' ? 'messages' : 'http';
    if (p.client === 'chromium' && w.kind !== 'page') {
      misfits.push(`${at}.client: chromium loads page workloads only, not ${w.kind}`);
    } else if (def.family !== family) {
      const what = family === 'messages' ? 'does not carry messages' : 'carries messages only';
      misfits.push(`${at}: ${p.label} ${what} (workload kind ${w.kind} takes ${protocolsOf(family).join(', ')})`);
    } else if (p.server && w.kind === 'messages') {
      misfits.push(`${at}.server: ${serverName(p.server)} serves page and load workloads, not messages`);
    } else if (w.kind === 'messages' && def.family === 'messages' && !def.patterns.includes(w.pattern)) {
      misfits.push(`${at}: ${p.label} cannot carry pattern ${w.pattern} (${p.label} carries ${def.patterns.join(', ')}; ${w.pattern} works with ${protocolsWithPattern(w.pattern).join(', ')})`);
    } else if (w.kind === 'messages' && def.family === 'messages' && def.resume === false && w.resume) {
      misfits.push(`${at}: ${p.label} cannot resume (lost messages are never resent); set workload.resume: false (resume works with ${resumableProtocols().join(', ')})`);
    }
  });
  for (const [i, problem] of portClashes(protocols.map((p) => p.server))) misfits.push(`${positionOf(doc, lc, ['protocols', i, 'server', 'port'], false)} protocols.${i}.server.port: ${problem}`);
  // connection modes: warm/resumed are for the HTTP drivers; resumed needs a TLS session
  const modes = new Set(scenario.sweep?.connection ?? [scenario.connection]);
  const modeAt = scenario.sweep?.connection ? ['sweep', 'connection'] : ['connection'];
  const modeWhere = `${positionOf(doc, lc, modeAt, false)} ${modeAt.join('.')}`;
  if (w.kind === 'messages' && [...modes].some((m) => m !== 'cold')) {
    misfits.push(`${modeWhere}: ${[...modes].filter((m) => m !== 'cold').join(', ')} applies to page and load workloads (messaging drivers open their own channels)`);
  }
  if (modes.has('resumed')) {
    protocols.forEach((p, i) => {
      if (!p.tls) misfits.push(`${positionOf(doc, lc, ['protocols', i], false)} protocols.${i}: ${p.label} is cleartext; connection: resumed needs TLS (${modeWhere})`);
    });
  }
  if (scenario.sweep?.cross_traffic && !scenario.cross_traffic?.length) {
    misfits.push(`${positionOf(doc, lc, ['sweep', 'cross_traffic'], false)} sweep.cross_traffic: the scenario has no cross_traffic flows to turn on and off`);
  }
  // NAT rebinding times must fall inside a job (timers past its end would never fire)
  const jobS = w.kind === 'messages' ? Math.min(w.duration_s, scenario.timeouts.cell_s) : scenario.timeouts.cell_s;
  scenario.nat?.rebind_at_s.forEach((t, i) => {
    if (t >= jobS) misfits.push(`${positionOf(doc, lc, ['nat', 'rebind_at_s', i], false)} nat.rebind_at_s.${i}: ${t} s is not inside a job (${w.kind === 'messages' && w.duration_s <= scenario.timeouts.cell_s ? `workload.duration_s = ${w.duration_s}` : `timeouts.cell_s = ${scenario.timeouts.cell_s}`})`);
  });
  if (misfits.length) throw new ScenarioError(file, misfits);
  const name = scenario.name ?? nameFromFile(file);
  if (!NAME_RE.test(name)) {
    throw new ScenarioError(file, [`1:1 name: not set, and the file name "${basename(file)}" gives no usable name (letters, digits, . _ - only); add name: to the scenario`]);
  }
  return { file, name, scenario, protocols, cells };
}

/** A scenario without `name:` is named after its file, made to fit the name rule: other
 *  characters become "-", at most 64 of them (the name goes into folder names). */
export function nameFromFile(file: string): string {
  return basename(file, extname(file))
    .replace(/[^a-zA-Z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 64);
}

export interface JobCount {
  cells: number;
  protocols: number;
  repetitions: number;
  total: number;
}

/** Jobs a scenario asks for, computed from the sweep's axis lengths (nothing is expanded). */
export function jobCount(s: Scenario, repetitions = s.repetitions): JobCount {
  const cells = Object.values(s.sweep ?? {}).reduce((n, v) => (Array.isArray(v) ? n * v.length : n), 1);
  return { cells, protocols: s.protocols.length, repetitions, total: cells * s.protocols.length * repetitions };
}

/** The message for a job count over MAX_JOBS. */
export function tooManyJobs(j: JobCount): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return `${n(j.total)} jobs (${n(j.cells)} cells x ${j.protocols} protocols x ${j.repetitions} repetitions) is over the limit of ${n(MAX_JOBS)} jobs; sweep fewer values`;
}

/** Read and check a scenario file. Only a regular file is read (a named pipe would block
 *  forever, a device never ends): it is opened non-blocking and checked with fstat before
 *  any read, and at most MAX_SCENARIO_BYTES are read. */
export async function loadScenario(file: string): Promise<LoadedScenario> {
  let text: string;
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new ScenarioError(file, [`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ScenarioError(file, [`not a regular file (${kindOf(st)}); a scenario is a .yaml file`]);
    if (st.size > MAX_SCENARIO_BYTES) throw new ScenarioError(file, [`file is ${st.size} bytes, larger than ${MAX_SCENARIO_BYTES} (a scenario is a few kB)`]);
    const buf = Buffer.alloc(MAX_SCENARIO_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0 || (n += bytesRead) === buf.length) break;
    }
    if (n > MAX_SCENARIO_BYTES) throw new ScenarioError(file, [`file is larger than ${MAX_SCENARIO_BYTES} bytes (a scenario is a few kB)`]);
    text = buf.subarray(0, n).toString('utf8');
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    throw new ScenarioError(file, [`cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
  } finally {
    await fh.close();
  }
  return parseScenarioText(text, file);
}

function kindOf(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a file';
}
