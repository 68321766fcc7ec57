// TCP retransmissions (RetransSegs of /proc/net/snmp) in the client and server namespaces
// around a job. Applies to TCP transports only: a QUIC job's count would be other traffic.
import { run } from '../../proc/exec.ts';
import type { JobProbe } from './types.ts';

async function retransSegs(ns: string): Promise<number | null> {
  const r = await run('cat', ['/proc/net/snmp'], { ns, allowFail: true });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('Tcp:'));
  if (lines.length < 2) return null;
  const keys = lines[0]!.split(/\s+/);
  const vals = lines[1]!.split(/\s+/);
  const i = keys.indexOf('RetransSegs');
  return i > 0 ? Number(vals[i]) : null;
}

async function both(ns: { client: string; server: string }): Promise<number | null> {
  const [c, s] = [await retransSegs(ns.client), await retransSegs(ns.server)];
  return c === null || s === null ? null : c + s;
}

/** retransmissions */
export const tcpRetransmissions: JobProbe = {
  name: 'tcp retransmissions',
  applies: (ctx) => ctx.transport === 'tcp',
  async start(ctx) {
    const before = await both(ctx.topo.ns);
    return {
      async finish() {
        const after = await both(ctx.topo.ns);
        return { columns: { retransmissions: before === null || after === null ? null : after - before } };
      },
    };
  },
};
