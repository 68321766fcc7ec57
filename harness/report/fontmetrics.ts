// Text widths for Vega's layout without a canvas. Vega in Node (no `canvas` package)
// estimates a string as 0.8 x fontSize per character, far wider than DejaVu Sans: facet
// headers get truncated with "…" and panels drift apart. We read the advance widths of
// the actual TTF (hmtx + cmap) and install them through vega's documented hook,
// textMetrics.width (the same one vl-convert uses). Kerning is ignored (< 2% here).
import { existsSync, readFileSync } from 'node:fs';

const REGULAR = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const BOLD = '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf';

export interface FontWidths {
  /** advance width of `text` at 1 px font size */
  width(text: string): number;
}

/** Parse advance widths from a TrueType file: Unicode BMP via cmap format 4. */
export function parseTtfWidths(buf: Buffer): FontWidths {
  const tables = new Map<string, number>();
  const numTables = buf.readUInt16BE(4);
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    tables.set(buf.toString('latin1', rec, rec + 4), buf.readUInt32BE(rec + 8));
  }
  const need = (t: string) => {
    const o = tables.get(t);
    if (o === undefined) throw new Error(`TTF: no ${t} table`);
    return o;
  };
  const unitsPerEm = buf.readUInt16BE(need('head') + 18);
  const nMetrics = buf.readUInt16BE(need('hhea') + 34);
  const hmtx = need('hmtx');
  const advance = (g: number) => buf.readUInt16BE(hmtx + 4 * Math.min(g, nMetrics - 1));
  const cmap = need('cmap');
  let sub = -1;
  for (let i = 0, n = buf.readUInt16BE(cmap + 2); i < n; i++) {
    const r = cmap + 4 + 8 * i;
    const platform = buf.readUInt16BE(r);
    const enc = buf.readUInt16BE(r + 2);
    const off = cmap + buf.readUInt32BE(r + 4);
    if (((platform === 3 && enc === 1) || platform === 0) && buf.readUInt16BE(off) === 4) sub = off;
  }
  if (sub < 0) throw new Error('TTF: no cmap format 4 subtable');
  const segX2 = buf.readUInt16BE(sub + 6);
  const ends = sub + 14;
  const starts = ends + segX2 + 2;
  const deltas = starts + segX2;
  const ranges = deltas + segX2;
  const glyph = (c: number): number => {
    for (let s = 0; s < segX2; s += 2) {
      const end = buf.readUInt16BE(ends + s);
      if (c > end) continue;
      const start = buf.readUInt16BE(starts + s);
      if (c < start) return 0;
      const delta = buf.readUInt16BE(deltas + s);
      const ro = buf.readUInt16BE(ranges + s);
      if (ro === 0) return (c + delta) & 0xffff;
      const g = buf.readUInt16BE(ranges + s + ro + 2 * (c - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const cache = new Map<number, number>();
  const charWidth = (c: number) => {
    let w = cache.get(c);
    if (w === undefined) cache.set(c, (w = advance(c > 0xffff ? 0 : glyph(c)) / unitsPerEm));
    return w;
  };
  return {
    width(text: string) {
      let w = 0;
      for (const ch of text) w += charWidth(ch.codePointAt(0)!);
      return w;
    },
  };
}

let installed: boolean | null = null;

/** Install DejaVu Sans metrics into vega's textMetrics (once per process). Returns false
 *  when the font files are missing (vega keeps its rough estimate). */
export function installFontMetrics(textMetrics: { width: (item: Record<string, unknown>, text: string) => number }): boolean {
  if (installed !== null) return installed;
  if (!existsSync(REGULAR)) return (installed = false);
  const regular = parseTtfWidths(readFileSync(REGULAR));
  const bold = existsSync(BOLD) ? parseTtfWidths(readFileSync(BOLD)) : regular;
  textMetrics.width = (item, text) => {
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    let t = text == null ? '' : String(text).trim();
    if (!t || size <= 0) return 0;
    const w = String(item.fontWeight ?? '');
    const f = w === 'bold' || Number(w) >= 600 ? bold : regular;
    // Vega's own estimators apply `limit` truncation first; we cannot (its truncation calls
    // us for the raw candidates), so bounds of a truncated label are slightly wide.
    t = t.replace(/\s+/g, ' ');
    return f.width(t) * size;
  };
  return (installed = true);
}
