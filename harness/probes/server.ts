// The server plugin's own counters around a job: connections it accepted, and (for a client
// that cannot say, Chromium) how the job's handshakes went.
import type { ServerStats } from '../../servers/types.ts';
import type { JobResult } from '../agent.ts';
import type { JobProbe } from './types.ts';

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** `resumed` and `zero_rtt` from the server's handshake counters, for a job whose client
 *  reported neither (Chromium: DevTools does not say). The client's priming handshakes
 *  (full, before its clock; JobResult.primedConnections) are not the page's. Null when the
 *  server does not count TLS handshakes or the counts do not add up. */
export function serverHandshakeColumns(before: ServerStats | undefined, after: ServerStats | undefined, result: JobResult): { resumed?: number | null; zero_rtt?: number | null } {
  const conns = result.connections ?? [];
  if (!conns.length || conns.some((c) => c.resumed !== null || c.zeroRtt !== null)) return {};
  if (!before?.tls || !after?.tls) return {};
  const full = after.tls.full - before.tls.full - (result.primedConnections ?? 0);
  const resumed = after.tls.resumed - before.tls.resumed;
  const n = full + resumed;
  if (full < 0 || n <= 0) return { resumed: null, zero_rtt: null };
  const zero = before.zeroRtt === undefined || after.zeroRtt === undefined ? null : after.zeroRtt - before.zeroRtt;
  return { resumed: r3(resumed / n), zero_rtt: zero === null || zero < 0 ? null : r3(zero / n) };
}

/** server_connections; resumed and zero_rtt when the client reported none */
export const serverConnections: JobProbe = {
  name: 'server connections',
  // an external server has no counters we can ask for: the column stays empty
  applies: (ctx) => !ctx.external,
  async start(ctx) {
    const before = (await ctx.server.request({ type: 'stats' }, 10_000))[ctx.plugin];
    return {
      async finish(result) {
        const after = (await ctx.server.request({ type: 'stats' }, 10_000))[ctx.plugin];
        const conns = before?.connections === undefined || after?.connections === undefined ? null : after.connections - before.connections;
        return { columns: { server_connections: conns, ...serverHandshakeColumns(before, after, result) } };
      },
    };
  },
};
