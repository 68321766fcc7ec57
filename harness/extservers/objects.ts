// The deterministic objects a workload requests (GET /bytes/<n>, servers/payload.ts), written
// as files for servers that serve files: <dir>/bytes/<n> holds the n payload bytes. The
// manifest (objects.json) lists them for a user's server (README "External servers").
import { createHash } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { payloadChunks } from '../../servers/payload.ts';
import { objectSize } from '../workloads/page.ts';
import type { Workload } from '../scenario/schema.ts';

export interface ObjectFile {
  /** the request path (clients add a query string, e.g. ?o=3, which servers ignore) */
  path: string;
  /** absolute file path */
  file: string;
  bytes: number;
  sha256: string;
}

/** Distinct body sizes a page or load workload requests, in ascending order. */
export function objectSizes(w: Workload): number[] {
  const s = new Set<number>();
  if (w.kind === 'page') {
    for (let i = 0; i < w.objects; i++) s.add(objectSize(w, i));
    if (w.html_bytes) s.add(w.html_bytes);
  } else if (w.kind === 'load') s.add(w.body_bytes);
  return [...s].sort((a, b) => a - b);
}

/** Write <dir>/bytes/<n> for every size and <dir>/objects.json; world-readable (nginx's
 *  workers run as nobody). Returns the manifest. */
export async function writeObjects(dir: string, sizes: number[]): Promise<{ manifest: ObjectFile[]; manifestFile: string }> {
  await mkdir(join(dir, 'bytes'), { recursive: true });
  await chmod(dir, 0o755);
  await chmod(join(dir, 'bytes'), 0o755);
  const manifest: ObjectFile[] = [];
  for (const n of sizes) {
    const file = join(dir, 'bytes', String(n));
    const hash = createHash('sha256');
    for (const c of payloadChunks(n)) hash.update(c);
    await writeFile(file, (function* () { yield* payloadChunks(n); })(), { mode: 0o644 });
    manifest.push({ path: `/bytes/${n}`, file, bytes: n, sha256: hash.digest('hex') });
  }
  const manifestFile = join(dir, 'objects.json');
  await writeFile(manifestFile, JSON.stringify(manifest, null, 2), { mode: 0o644 });
  return { manifest, manifestFile };
}
