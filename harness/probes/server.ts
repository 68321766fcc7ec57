// The server plugin's own counters around a job: connections it accepted.
import type { JobProbe } from './types.ts';

/** server_connections */
export const serverConnections: JobProbe = {
  name: 'server connections',
  // an external server has no counters we can ask for: the column stays empty
  applies: (ctx) => !ctx.external,
  async start(ctx) {
    const before = (await ctx.server.request({ type: 'stats' }, 10_000))[ctx.plugin]?.connections;
    return {
      async finish() {
        const after = (await ctx.server.request({ type: 'stats' }, 10_000))[ctx.plugin]?.connections;
        return { columns: { server_connections: before === undefined || after === undefined ? null : after - before } };
      },
    };
  },
};
