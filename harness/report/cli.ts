// Thin CLI over buildReport:
//   npx tsx harness/report/cli.ts <resultsDir> [reportDir] [--no-png] [--png-scale N]
//       [--timeline-cell ID] [--timeline-rep N] [--timeline-protocols h2,h3] [--timeline-streams N]
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildReport, defaultReportDir } from './index.ts';

const USAGE = 'usage: report <resultsDir> [reportDir] [--no-png] [--png-scale N] [--timeline-cell ID] [--timeline-rep N] [--timeline-protocols a,b] [--timeline-streams N]';

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'no-png': { type: 'boolean' },
        'png-scale': { type: 'string' },
        'timeline-cell': { type: 'string' },
        'timeline-rep': { type: 'string' },
        'timeline-protocols': { type: 'string' },
        'timeline-streams': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help || positionals.length < 1 || positionals.length > 2) {
    console.error(USAGE);
    return v.help ? 0 : 2;
  }
  const errors: string[] = [];
  const int = (name: string, s: string | undefined) => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) errors.push(`--${name}: expected a positive number, got "${s}"`);
    return n;
  };
  const pngScale = int('png-scale', v['png-scale']);
  const rep = int('timeline-rep', v['timeline-rep']);
  const maxStreams = int('timeline-streams', v['timeline-streams']);
  if (errors.length) {
    console.error(errors.join('\n'));
    return 2;
  }
  const resultsDir = positionals[0]!;
  const reportDir = positionals[1] ?? defaultReportDir(resultsDir);
  try {
    const r = await buildReport(resultsDir, reportDir, {
      png: !v['no-png'],
      pngScale,
      timeline: {
        cell: v['timeline-cell'],
        rep,
        protocols: v['timeline-protocols']?.split(',').map((s) => s.trim()).filter(Boolean),
        maxStreams,
      },
      onProgress: (m) => console.error(m),
    });
    for (const n of r.notes) console.error(`note: ${n}`);
    console.log(r.files[r.files.length - 1]);
    return 0;
  } catch (e) {
    console.error(`report failed: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
