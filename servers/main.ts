// The server process: runs inside the server namespace, started by the runner with an IPC
// channel. Protocol: runner -> {type:'stats'} | {type:'stop'}; server -> {type:'ready', ports,
// unsupported} once every plugin listens, {type:'stats', stats} on request. Exits when the
// runner goes away (IPC disconnect), so a killed runner never leaves a server behind.
import { loadPlugin, type PluginName } from './registry.ts';
import type { ServerContext, ServerPlugin } from './types.ts';

export interface ServerConfig {
  host: string;
  plugins: PluginName[];
  tls: { key: string; cert: string };
  quicCc?: string;
  keepalive?: import('../contract/messages.ts').Keepalive;
}

export type ServerReady = {
  type: 'ready';
  ports: Partial<Record<PluginName, { port: number; transport: 'tcp' | 'udp' }>>;
  unsupported: Partial<Record<PluginName, string>>;
};

async function main() {
  if (!process.send) throw new Error('servers/main.ts must be started with an IPC channel');
  const cfg = JSON.parse(process.env.HOLBENCH_SERVER_CONFIG ?? '{}') as ServerConfig;
  const ctx: ServerContext = { host: cfg.host, tls: cfg.tls, quicCc: cfg.quicCc, keepalive: cfg.keepalive };
  const running = new Map<PluginName, ServerPlugin>();
  const ready: ServerReady = { type: 'ready', ports: {}, unsupported: {} };
  for (const name of cfg.plugins) {
    try {
      const p = await loadPlugin(name);
      ready.ports[name] = await p.start(ctx);
      running.set(name, p);
    } catch (err) {
      ready.unsupported[name] = (err as Error).message.split('\n')[0]!;
    }
  }
  const stopAll = async () => {
    for (const p of running.values()) await p.stop().catch(() => {});
  };
  process.on('message', async (m: { type: string }) => {
    if (m.type === 'stats') {
      const stats = Object.fromEntries([...running].map(([n, p]) => [n, p.stats()]));
      process.send!({ type: 'stats', stats });
    } else if (m.type === 'stop') {
      await stopAll();
      process.exit(0);
    }
  });
  process.on('disconnect', () => void stopAll().finally(() => process.exit(0)));
  process.on('SIGTERM', () => void stopAll().finally(() => process.exit(0)));
  process.send(ready);
}

void main().catch((err) => {
  process.stderr.write(`server: ${(err as Error).stack}\n`);
  process.exit(1);
});
