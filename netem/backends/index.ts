// Backend selection: `netem` (tc-netem on the router's egress interfaces), `helper` (our
// NFQUEUE program in the router namespace) or `auto` (netem where the kernel has it).
import type { BackendChoice, ImpairmentBackend } from '../backend.ts';
import type { Topology } from '../topology.ts';

export interface Availability {
  ok: boolean;
  reason: string;
}

export async function backendAvailability(name: 'netem' | 'helper'): Promise<Availability> {
  if (name === 'netem') return (await import('./netem.ts')).netemAvailable();
  return (await import('./helper.ts')).helperAvailable();
}

/** Resolve `auto` without touching the system beyond a throwaway probe namespace. */
export async function resolveBackend(choice: BackendChoice): Promise<{ name: 'netem' | 'helper'; why: string }> {
  if (choice !== 'auto') {
    const a = await backendAvailability(choice);
    if (!a.ok) throw new Error(`backend ${choice} is not usable here: ${a.reason}`);
    return { name: choice, why: 'chosen explicitly' };
  }
  const netem = await backendAvailability('netem');
  if (netem.ok) return { name: 'netem', why: 'auto: kernel has sch_netem' };
  const helper = await backendAvailability('helper');
  if (helper.ok) return { name: 'helper', why: `auto: ${netem.reason}; using the NFQUEUE helper` };
  throw new Error(`no impairment backend is usable: netem: ${netem.reason}; helper: ${helper.reason}`);
}

export async function createBackend(name: 'netem' | 'helper', topology: Topology): Promise<ImpairmentBackend> {
  if (name === 'netem') return (await import('./netem.ts')).createNetemBackend(topology);
  return (await import('./helper.ts')).createHelperBackend(topology);
}
