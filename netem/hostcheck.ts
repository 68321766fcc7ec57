// A snapshot of the root namespace's network configuration, to prove a run leaves the
// host exactly as it found it: links, addresses, routes, qdiscs and iptables rules of the
// root namespace. (Which holbench namespaces exist is checked per run id by the tests, since
// other runs may legitimately be alive at the same time.)
import { run } from '../proc/exec.ts';

export interface HostSnapshot {
  links: unknown;
  addrs: unknown;
  routes: unknown;
  qdiscs: unknown;
  iptables: string;
}

/** Drop counters and timers that change on their own. */
function stable(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(stable);
  if (x && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      if (['stats', 'stats64', 'bytes', 'packets', 'drops', 'overlimits', 'requeues', 'backlog', 'qlen', 'valid_life_time', 'preferred_life_time', 'expires'].includes(k)) continue;
      out[k] = stable(v);
    }
    return out;
  }
  return x;
}

async function json(args: string[]): Promise<unknown> {
  const r = await run(args[0]!, args.slice(1), { allowFail: true });
  try {
    return stable(JSON.parse(r.stdout || 'null'));
  } catch {
    return r.stdout;
  }
}

export async function hostNetSnapshot(): Promise<HostSnapshot> {
  const ipt = await run('iptables-save', [], { allowFail: true });
  return {
    links: await json(['ip', '-j', 'link', 'show']),
    addrs: await json(['ip', '-j', 'addr', 'show']),
    routes: await json(['ip', '-j', 'route', 'show', 'table', 'all']),
    qdiscs: await json(['tc', '-j', 'qdisc', 'show']),
    iptables: ipt.stdout.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '')).join('\n'),
  };
}
