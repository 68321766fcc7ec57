// HTTP/3 (our h3/ stack over quiche) with the per-run certificate, on UDP.
import { h3Support } from '../h3/binding.ts';
import { payloadHandler } from '../h3/payload.ts';
import { H3UnsupportedError } from '../h3/errors.ts';
import type { H3Server } from '../h3/server.ts';
import type { ServerPlugin } from './types.ts';

export { h3Support };

export function h3Plugin(): ServerPlugin {
  let server: H3Server | undefined;
  let last = { connections: 0, requests: 0 };
  return {
    protocol: 'h3',
    async start(ctx) {
      const support = h3Support();
      if (!support.ok) throw new H3UnsupportedError(`h3 unsupported: ${support.reason}`);
      const { listen } = await import('../h3/server.ts');
      server = await listen(ctx.host, 0, { key: ctx.tls.key, cert: ctx.tls.cert, cc: ctx.quicCc ?? 'cubic' }, payloadHandler);
      return { port: server.port, transport: 'udp' };
    },
    stats() {
      if (server) {
        const s = server.stats();
        last = { connections: s.connections, requests: s.requests };
      }
      return { ...last };
    },
    async stop() {
      const s = server;
      if (!s) return;
      last = { connections: s.stats().connections, requests: s.stats().requests };
      server = undefined;
      await s.close(1000);
    },
  };
}
