// Reaping: namespaces (and every process inside them: servers, drivers, the helper)
// whose owning holbench process is gone. Runs at every start and as `holbench cleanup`.
import { run } from '../proc/exec.ts';
import { listRuns, ownerAlive, unregisterRun } from '../proc/registry.ts';
import { destroyNamespaces, NS_PREFIX } from './topology.ts';

const NS_RE = new RegExp(`^${NS_PREFIX}([0-9a-z]+)-[crs]$`);

/** Run ids that have at least one namespace present. */
export async function presentRunIds(): Promise<Set<string>> {
  const r = await run('ip', ['netns', 'list'], { allowFail: true });
  const ids = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = NS_RE.exec(line.split(' ')[0] ?? '');
    if (m) ids.add(m[1]!);
  }
  return ids;
}

export interface CleanupReport {
  removed: string[];
  kept: string[];
}

/** Remove stale runs. With `all`, also runs whose owner is still alive (the `cleanup --all` case). */
export async function reapStale(opts: { all?: boolean } = {}): Promise<CleanupReport> {
  const records = new Map((await listRuns()).map((r) => [r.runId, r]));
  const ids = await presentRunIds();
  const report: CleanupReport = { removed: [], kept: [] };
  for (const id of ids) {
    const rec = records.get(id);
    if (rec && ownerAlive(rec) && !opts.all) {
      report.kept.push(id);
      continue;
    }
    await destroyNamespaces(id);
    report.removed.push(id);
  }
  // registry files whose namespaces are already gone
  for (const [id, rec] of records) {
    if (!ids.has(id) && (!ownerAlive(rec) || opts.all)) await unregisterRun(id);
  }
  return report;
}
