// Provenance: what differs between the two runs' run.json that could move the numbers
// (kernel, CPU, congestion control, versions, a cell's network profile). Pure.
import type { RunInfo } from '../report/load.ts';
import type { RunData } from './types.ts';
import { sortProtocols } from '../report/labels.ts';
import { parseLabel, PROTOCOL_TABLE } from '../protocols.ts';

/** JSON with sorted keys, so key order never counts as a difference. */
function canon(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([p], [q]) => p.localeCompare(q))) : v,
  );
}

const show = (v: unknown) => (v === undefined ? '(not recorded)' : typeof v === 'string' ? `"${v}"` : canon(v));

/** Differences between the runs' run.json that can move the numbers: backend, kernel,
 *  CPU, congestion control, workload, software versions, and the network profile of every
 *  compared cell (the profile's loss seed excluded: another seed is another sample of the
 *  same conditions, which the intervals account for). */
export function provenanceWarnings(a: RunData, b: RunData, cells: string[]): string[] {
  const out: string[] = [];
  if (!a.run || !b.run) {
    const which = [!a.run && `A (${a.name})`, !b.run && `B (${b.name})`].filter(Boolean).join(' and ');
    return [`no readable run.json in ${which}: provenance not compared`];
  }
  const ra = a.run;
  const rb = b.run;
  const scen = (r: RunInfo) => (r.scenario ?? {}) as Record<string, unknown>;
  const fields: [string, unknown, unknown][] = [
    ['backend', ra.backend, rb.backend],
    ['kernel', ra.kernel, rb.kernel],
    ['cpus', ra.cpus, rb.cpus],
    ['cpu_model', ra.cpu_model, rb.cpu_model],
    ['tcp_cc', ra.tcp_cc, rb.tcp_cc],
    ['tcp_cc_measured', ra.tcp_cc_measured, rb.tcp_cc_measured],
    ['quic_cc', ra.quic_cc, rb.quic_cc],
    ['workload', scen(ra).workload, scen(rb).workload],
  ];
  for (const [k, va, vb] of fields) if (canon(va) !== canon(vb)) out.push(`${k} differs: A ${show(va)}, B ${show(vb)}`);
  const verA = (ra.versions ?? {}) as Record<string, unknown>;
  const verB = (rb.versions ?? {}) as Record<string, unknown>;
  const ver = [...new Set([...Object.keys(verA), ...Object.keys(verB)])]
    .filter((k) => canon(verA[k]) !== canon(verB[k]))
    .map((k) => `${k} ${show(verA[k])} -> ${show(verB[k])}`);
  if (ver.length) out.push(`versions differ: ${ver.join(', ')}`);
  type Cell = { id?: string; profile?: Record<string, unknown>; description?: string };
  const cellMap = (r: RunInfo) => new Map(((Array.isArray(r.cells) ? r.cells : []) as Cell[]).map((c) => [c.id, c]));
  const ca = cellMap(ra);
  const cb = cellMap(rb);
  for (const id of cells) {
    const pa = ca.get(id);
    const pb = cb.get(id);
    if (!pa?.profile || !pb?.profile) continue;
    const { seed: _sa, ...xa } = pa.profile;
    const { seed: _sb, ...xb } = pb.profile;
    if (canon(xa) === canon(xb)) continue;
    const same = pa.description === pb.description;
    out.push(`cell "${id}": network profile differs: A ${show(pa.description)}, B ${show(pb.description)}${same ? ' (differ in details: queue, jitter or outages)' : ''}`);
  }
  out.push(...tlsWarnings(ra, rb, [...new Set(a.rows.map((r) => r.protocol!))].filter((l) => b.rows.some((r) => r.protocol === l))));
  return out;
}

/** A label compared in both runs whose TLS differs. The same label can name another setup
 *  in an older run: HTTP/1.x ran cleartext before it defaulted to TLS, and run.json's
 *  `protocols` then listed labels only (no `tls`). */
function tlsWarnings(ra: RunInfo, rb: RunInfo, labels: string[]): string[] {
  const tlsIn = (r: RunInfo, label: string): string => {
    const e = (Array.isArray(r.protocols) ? r.protocols : []).find((p): p is { label: string; tls: boolean } => typeof p === 'object' && p !== null && (p as { label?: unknown }).label === label);
    if (e && typeof e.tls === 'boolean') return e.tls ? 'TLS' : 'cleartext';
    return 'not recorded (cleartext if the run predates TLS for HTTP/1.x)';
  };
  return sortProtocols(labels)
    .filter((l) => {
      const p = parseLabel(l);
      return p !== null && PROTOCOL_TABLE[p.protocol].tls.kind === 'default-on';
    })
    .flatMap((l) => {
      const [ta, tb] = [tlsIn(ra, l), tlsIn(rb, l)];
      return ta === tb ? [] : [`${l}: TLS differs: A ${ta}, B ${tb}`];
    });
}
