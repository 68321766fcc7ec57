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

/** Fields of /proc/<pid>/stat after the comm field (field 3 = state is index 0), or null
 *  when the process is gone. comm (field 2) may contain spaces and ')', so split after the
 *  last ')'. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

export function procStart(pid: number): string | null {
  return statFields(pid)?.[19] ?? null; // field 22 (starttime)
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

/** True while the process that created the run is still alive. A zombie (state Z: killed,
 *  not yet reaped by its parent, which can take long where PID 1 reaps slowly) or a dying
 *  process (X) is dead: it can no longer tear anything down. */
export function ownerAlive(rec: RunRecord): boolean {
  const f = statFields(rec.pid);
  if (!f || rec.pidStart === '' || f[19] !== rec.pidStart) return false;
  return f[0] !== 'Z' && f[0] !== 'X';
}
