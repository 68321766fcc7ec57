// `holbench presets`: the network presets (netem/presets.ts) as a table, with where each
// value came from. Plain text for people; --json for scripts (the table entries as they are).
import { PRESET_NAMES, PRESET_TABLE, type Preset } from '../netem/presets.ts';

/** 1677721.6 -> "1.678M", 384000 -> "384k" (bit/s, SI prefixes as tc prints them). */
export function fmtRate(bps: number): string {
  if (bps >= 1e6) return `${+(bps / 1e6).toFixed(3)}M`;
  if (bps >= 1e3) return `${+(bps / 1e3).toFixed(3)}k`;
  return String(bps);
}

/** One row per preset: name, source, down/up bit/s, RTT, loss, queue (and the outages). */
export function presetRows(): string[][] {
  return PRESET_NAMES.map((name) => {
    const p: Preset = PRESET_TABLE[name];
    return [
      name,
      p.source.tool,
      fmtRate(p.downBps),
      fmtRate(p.upBps),
      `${p.rttMs}`,
      p.lossPct !== undefined ? `${p.lossPct}%` : '-',
      p.queuePackets !== undefined ? `${p.queuePackets}` : 'default',
      (p.outages ?? []).map((o) => `${o.from_s}-${o.to_s}s ${o.direction}`).join(' ') || '-',
    ];
  });
}

const HEADER = ['name', 'source', 'down bit/s', 'up bit/s', 'RTT ms', 'loss', 'queue pkts', 'outages'];

export function presetsText(verbose: boolean): string {
  const rows = [HEADER, ...presetRows()];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  const out = [...lines, '', 'RTT is split half each way; loss is per direction; queue "default" = 2 x BDP, at least 100 packets.'];
  if (verbose) {
    for (const name of PRESET_NAMES) {
      const p: Preset = PRESET_TABLE[name];
      out.push('', `${name}:`, `  source:    ${p.source.tool}, ${p.source.url}`, `  revision:  ${p.source.revision} (read ${p.source.retrieved})`, `  original:  ${p.original}`, `  converted: ${p.note}`);
    }
  } else {
    const tools = [...new Map(PRESET_NAMES.map((n) => [PRESET_TABLE[n].source.tool, PRESET_TABLE[n].source] as const)).values()];
    out.push('sources (read ' + tools[0]!.retrieved + '; --sources for each preset\'s original values and conversion):');
    for (const s of tools) out.push(`  ${s.tool}: ${s.url}`);
  }
  return out.join('\n') + '\n';
}
