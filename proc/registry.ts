// Which holbench runs own which namespaces, so a later start (or `holbench cleanup`) can
// reap what a SIGKILLed run left behind. One JSON file per run under /run/holbench.
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';

export const REGISTRY_DIR = process.env.HOLBENCH_RUN_DIR ?? '/run/holbench';

export interface RunRecord {
  runId: string;
  pid: number;
  /** /proc/<pid>/stat start time, so a recycled pid is not mistaken for the owner */
  pidStart: string;
  namespaces: string[];
  createdAt: string;
}

export function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22 (starttime); the comm field (2) may contain spaces, so split after ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export async function registerRun(runId: string, namespaces: string[]): Promise<void> {
  await mkdir(REGISTRY_DIR, { recursive: true });
  const rec: RunRecord = { runId, pid: process.pid, pidStart: procStart(process.pid) ?? '', namespaces, createdAt: new Date().toISOString() };
  await writeFile(`${REGISTRY_DIR}/${runId}.json`, JSON.stringify(rec));
}

export async function unregisterRun(runId: string): Promise<void> {
  await rm(`${REGISTRY_DIR}/${runId}.json`, { force: true });
}

export async function listRuns(): Promise<RunRecord[]> {
  let names: string[] = [];
  try {
    names = await readdir(REGISTRY_DIR);
  } catch {
    return [];
  }
  const out: RunRecord[] = [];
  for (const n of names.filter((f) => f.endsWith('.json'))) {
    try {
      out.push(JSON.parse(await readFile(`${REGISTRY_DIR}/${n}`, 'utf8')));
    } catch {
      /* torn write from a killed process: treated as ownerless by cleanup */
    }
  }
  return out;
}

/** True while the process that created the run is still alive. */
export function ownerAlive(rec: RunRecord): boolean {
  return procStart(rec.pid) === rec.pidStart && rec.pidStart !== '';
}
