// Loading a scenario: YAML -> zod (strict) -> a plan of cells. Every problem is reported at
// once, each with its YAML path and line:column, before anything touches the system.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import YAML from 'yaml';
import { issuesOf, normalizeProfile, ProfileError, type NetworkProfile } from '../../netem/profile.ts';
import { ScenarioSchema, type Scenario } from './schema.ts';
import type { Scheduling } from '../../servers/scheduler.ts';
import { isProtocol, parseShorthand, protocolDef, protocolLabel, protocolsOf, protocolsWithPattern, resolveConnections, type ProtocolName } from '../protocols.ts';

export class ScenarioError extends Error {
  readonly code = 'HOLBENCH_BAD_SCENARIO';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
  }
}

export interface ProtocolSpec {
  protocol: ProtocolName;
  /** transport connections the client may open */
  connections: number;
  /** label used in outputs: http1.0, http1.1, http1.1x6, h2, h3 */
  label: string;
}

export interface Cell {
  /** stable id, e.g. "scheduling=sequential,loss_pct=2" ("base" without a sweep) */
  id: string;
  /** the swept values of this cell (numbers; the scheduling axis is a string) */
  params: Record<string, number | string>;
  profile: NetworkProfile;
  /** the servers' discipline in this cell: the swept value, else the scenario's `scheduling` */
  scheduling: Scheduling;
}

export interface LoadedScenario {
  file: string;
  name: string;
  scenario: Scenario;
  protocols: ProtocolSpec[];
  cells: Cell[];
}

/** A scenario protocol entry (already checked by the schema) -> its spec. */
function protocolSpec(p: Scenario['protocols'][number]): ProtocolSpec {
  const { protocol, connections: given } =
    typeof p === 'string' ? (isProtocol(p) ? { protocol: p, connections: undefined } : parseShorthand(p)!) : p;
  const r = resolveConnections(protocol, given);
  if ('problem' in r) throw new Error(r.problem); // the schema refused it already
  return { protocol, connections: r.connections, label: protocolLabel(protocol, r.connections, given !== undefined) };
}

/** Cartesian product of the sweep, in file order; each combination is one cell. */
export function expandCells(s: Scenario): Cell[] {
  const sweep = s.sweep ?? {};
  const axes = Object.entries(sweep).filter(([, v]) => Array.isArray(v)) as [string, (number | string)[]][];
  let combos: Record<string, number | string>[] = [{}];
  for (const [key, values] of axes) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: key === 'scheduling' ? String(v) : Number(v) })));
  }
  return combos.map((params) => {
    const net: Record<string, unknown> = { ...s.network, seed: s.network.seed ?? s.seed };
    for (const [k, v] of Object.entries(params)) {
      if (k === 'scheduling') continue; // a server setting, not part of the path
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
        net[dir] = copy;
      }
      if (k === 'loss_pct') delete net.loss_ge;
    }
    const id = Object.keys(params).length ? Object.entries(params).map(([k, v]) => `${k}=${v}`).join(',') : 'base';
    const scheduling = (params.scheduling as Scheduling | undefined) ?? s.scheduling;
    return { id, params, profile: normalizeProfile(net as any), scheduling };
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

export function parseScenarioText(text: string, file: string): LoadedScenario {
  const lc = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ScenarioError(
      file,
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return `${pos.line}:${pos.col} YAML syntax: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  const raw = doc.toJS() ?? {};
  const r = ScenarioSchema.safeParse(raw);
  if (!r.success) {
    const problems = issuesOf(r.error, []).map((i) => {
      const isKey = i.message === 'unknown key';
      return `${positionOf(doc, lc, i.path, isKey)} ${i.path.join('.') || '(top level)'}: ${i.message}`;
    });
    throw new ScenarioError(file, problems);
  }
  const scenario = r.data;
  let cells: Cell[];
  try {
    cells = expandCells(scenario);
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
    if (def.family !== family) {
      const what = family === 'messages' ? 'does not carry messages' : 'carries messages only';
      misfits.push(`${at}: ${p.label} ${what} (workload kind ${w.kind} takes ${protocolsOf(family).join(', ')})`);
    } else if (w.kind === 'messages' && def.family === 'messages' && !def.patterns.includes(w.pattern)) {
      misfits.push(`${at}: ${p.label} cannot carry pattern ${w.pattern} (${w.pattern} works with ${protocolsWithPattern(w.pattern).join(', ')})`);
    }
  });
  if (misfits.length) throw new ScenarioError(file, misfits);
  const name = scenario.name ?? basename(file, extname(file));
  return { file, name, scenario, protocols, cells };
}

export async function loadScenario(file: string): Promise<LoadedScenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ScenarioError(file, [`cannot read: ${(e as Error).message}`]);
  }
  return parseScenarioText(text, file);
}

