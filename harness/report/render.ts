// Vega-Lite spec -> Vega -> SVG (headless View, renderer 'none') -> PNG (resvg).
import { existsSync } from 'node:fs';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';
import type { VlSpec } from './charts/common.ts';
import { installFontMetrics } from './fontmetrics.ts';

/** Font files resvg loads explicitly (in addition to the system fonts it finds itself).
 *  On Debian these come from the fonts-dejavu-core (and fonts-liberation) packages. */
const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
];

/** The font files that exist here; empty means PNG text may not render (install
 *  fonts-dejavu-core). */
export function availableFontFiles(): string[] {
  return FONT_FILES.filter((f) => existsSync(f));
}

/** Compile a Vega-Lite spec; throws with the spec's id on an invalid spec. Warnings from
 *  the compiler are collected instead of printed. */
export function compileVegaLite(spec: VlSpec, id = 'chart'): { vega: vega.Spec; warnings: string[] } {
  const warnings: string[] = [];
  const logger = {
    level: () => logger,
    error: (...a: unknown[]) => {
      throw new Error(`${id}: ${a.join(' ')}`);
    },
    warn: (...a: unknown[]) => {
      warnings.push(a.join(' '));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const out = vl.compile(spec as any, { logger: logger as any });
  return { vega: out.spec as vega.Spec, warnings };
}

/** Render a compiled Vega spec to an SVG string without a browser or canvas. */
export async function vegaToSvg(spec: vega.Spec): Promise<string> {
  // textMetrics is exported at runtime (from vega-scenegraph) but missing from vega's typings
  installFontMetrics((vega as unknown as { textMetrics: Parameters<typeof installFontMetrics>[0] }).textMetrics);
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG -> PNG at `scale` x (2 = crisp on slides), white background. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, fontFiles: availableFontFiles(), defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return r.render().asPng();
}

/** Make element ids unique inside one SVG so several SVGs can be inlined in one page
 *  (Vega names clip paths "clip1", "clip2", ... in every SVG). */
export function prefixSvgIds(svg: string, prefix: string): string {
  const ids = new Set<string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) ids.add(m[1]!);
  if (ids.size === 0) return svg;
  return svg
    .replace(/(\sid=")([^"]+)(")/g, (_m, a: string, id: string, b: string) => `${a}${prefix}${id}${b}`)
    .replace(/url\(#([^)]+)\)/g, (m, id: string) => (ids.has(id) ? `url(#${prefix}${id})` : m))
    .replace(/(href=")#([^"]+)(")/g, (m, a: string, id: string, b: string) => (ids.has(id) ? `${a}#${prefix}${id}${b}` : m));
}
