// The backend table: every impairment backend, declared once, in `auto`'s order of
// preference. The scenario schema, the CLI's --backend, `doctor` and `fidelity` read it.
// Adding a backend = its module (create + available) + one entry here.
import type { ImpairmentBackend } from '../backend.ts';
import type { Topology } from '../topology.ts';
import type { NetworkProfile } from '../profile.ts';

export interface Availability {
  ok: boolean;
  reason: string;
}

export interface BackendModule {
  available(): Promise<Availability>;
  create(topology: Topology): ImpairmentBackend;
  /** why this backend cannot emulate a profile faithfully (null: it can); absent: it can all */
  unsupported?(profile: NetworkProfile): string | null;
}

interface BackendDef {
  /** one line for `doctor` and docs */
  summary: string;
  /** what to do when it is not usable (doctor's hint) */
  fix: string;
  /** loads lazily: a backend's module may build or probe things */
  load(): Promise<BackendModule>;
}

export const BACKEND_TABLE = {
  netem: {
    summary: "tc-netem on the router's egress interfaces",
    fix: 'a kernel with sch_netem (stock distribution kernels have it); otherwise the helper backend is used',
    load: async () => {
      const m = await import('./netem.ts');
      return { available: m.netemAvailable, create: m.createNetemBackend, unsupported: m.netemUnsupportedProfile };
    },
  },
  helper: {
    summary: 'our NFQUEUE program (netem/helper/impair.c) in the router namespace',
    fix: 'apt-get install iptables gcc libc6-dev linux-libc-dev (see the reason above)',
    load: async () => {
      const m = await import('./helper.ts');
      return { available: m.helperAvailable, create: m.createHelperBackend };
    },
  },
} as const satisfies Record<string, BackendDef>;

export type BackendName = keyof typeof BACKEND_TABLE;
export const BACKEND_NAMES = Object.keys(BACKEND_TABLE) as [BackendName, ...BackendName[]];
/** What a scenario or --backend may say: a name, or `auto` (the first usable, table order). */
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export function isBackendChoice(s: string): s is BackendChoice {
  return (BACKEND_CHOICES as readonly string[]).includes(s);
}

export async function backendAvailability(name: BackendName): Promise<Availability> {
  return (await BACKEND_TABLE[name].load()).available();
}

/** Resolve `auto` without touching the system beyond a throwaway probe namespace. */
/** The backend to use. `auto` takes the first usable backend in table order that can emulate
 *  every given profile (the scenario's cells); when no usable backend can emulate them all,
 *  the first usable one (its cells that it cannot emulate are then UNSUPPORTED, runner.ts). */
export async function resolveBackend(
  choice: BackendChoice,
  profiles: readonly NetworkProfile[] = [],
  /** the table to choose from (tests pass their own modules) */
  table: Record<BackendName, { load(): Promise<BackendModule> }> = BACKEND_TABLE,
): Promise<{ name: BackendName; why: string }> {
  if (choice !== 'auto') {
    const a = await (await table[choice].load()).available();
    if (!a.ok) throw new Error(`backend ${choice} is not usable here: ${a.reason}`);
    return { name: choice, why: 'chosen explicitly' };
  }
  const refused: string[] = [];
  let firstUsable: BackendName | null = null;
  for (const name of BACKEND_NAMES) {
    const m: BackendModule = await table[name].load();
    const a = await m.available();
    if (!a.ok) {
      refused.push(`${name}: ${a.reason}`);
      continue;
    }
    firstUsable ??= name;
    const cannot = profiles.map((p) => m.unsupported?.(p) ?? null).find((w) => w !== null);
    if (!cannot) return { name, why: refused.length ? `auto: ${refused.join('; ')}; using ${name}` : `auto: ${name} is usable` };
    refused.push(`${name}: usable, but ${cannot}`);
  }
  if (firstUsable) return { name: firstUsable, why: `auto: ${refused.join('; ')}; using ${firstUsable} (the cells it cannot emulate are UNSUPPORTED)` };
  throw new Error(`no impairment backend is usable: ${refused.join('; ')}`);
}

export async function createBackend(name: BackendName, topology: Topology): Promise<ImpairmentBackend> {
  return (await BACKEND_TABLE[name].load()).create(topology);
}
