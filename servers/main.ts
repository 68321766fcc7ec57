// The server process: runs inside the server namespace, started by the runner over the
// control channel (proc/channel.ts, contract ServerControl): ready = the ports every plugin
// listens on (and why the others could not start); request `stats` = every plugin's
// counters; request `configure` = new settings (the scheduling discipline of the next cell)
// for every plugin, applied to requests that arrive after the reply. Exits when the runner goes away, so a killed runner never leaves a server behind.
import { loadPlugin, type PluginName } from './registry.ts';
import type { ServerContext, ServerPlugin, ServerSettings, ServerStats } from './types.ts';
import { isScheduling, SCHEDULINGS, type Scheduling } from './scheduler.ts';
import { isMain, serveChannel } from '../proc/channel.ts';

export interface ServerConfig {
  host: string;
  plugins: PluginName[];
  tls: { key: string; cert: string };
  quicCc?: string;
  keepalive?: import('../contract/messages.ts').Keepalive;
  /** the first cell's discipline (default browser); later cells send `configure` */
  scheduling?: Scheduling;
  /** h3 plugin: advertise WebTransport (ServerContext.webtransport; default true) */
  webtransport?: boolean;
}

export type ServerReady = {
  ports: Partial<Record<PluginName, { port: number; transport: 'tcp' | 'udp' }>>;
  unsupported: Partial<Record<PluginName, string>>;
};

/** Plugin name -> its counters (ServerStats, or a plugin's extension of it). */
export type ServerStatsReply = Partial<Record<PluginName, ServerStats>>;

/** The control contract of this process (proc/channel.ts). */
export interface ServerControl {
  ready: ServerReady;
  requests: {
    stats: { request: { type: 'stats' }; reply: ServerStatsReply };
    /** reply: the settings now in force */
    configure: { request: { type: 'configure' } & ServerSettings; reply: ServerSettings };
  };
}

/** Where the runner and the tests start this process from. */
export const SERVER_MAIN = new URL('./main.ts', import.meta.url).pathname;

async function main() {
  const cfg = JSON.parse(process.env.HOLBENCH_SERVER_CONFIG ?? '{}') as ServerConfig;
  const ctx: ServerContext = { host: cfg.host, tls: cfg.tls, quicCc: cfg.quicCc, keepalive: cfg.keepalive, scheduling: cfg.scheduling, webtransport: cfg.webtransport };
  const running = new Map<PluginName, ServerPlugin>();
  const ready: ServerReady = { ports: {}, unsupported: {} };
  for (const name of cfg.plugins) {
    try {
      const p = await loadPlugin(name);
      ready.ports[name] = await p.start(ctx);
      running.set(name, p);
    } catch (err) {
      ready.unsupported[name] = (err as Error).message.split('\n')[0]!;
    }
  }
  serveChannel<ServerControl>(
    ready,
    {
      stats: () => Object.fromEntries([...running].map(([n, p]) => [n, p.stats()])),
      configure: (req) => {
        // the channel carries JSON: check what the type system cannot
        if (!isScheduling(req.scheduling)) throw new Error(`configure: scheduling must be one of ${SCHEDULINGS.join(', ')}; got ${JSON.stringify(req.scheduling)}`);
        const settings: ServerSettings = { scheduling: req.scheduling };
        for (const p of running.values()) p.configure?.(settings);
        return settings;
      },
    },
    async () => {
      for (const p of running.values()) await p.stop().catch(() => {});
    },
  );
}

if (isMain(import.meta.url)) void main().catch((err) => {
  process.stderr.write(`server: ${(err as Error).stack}\n`);
  process.exit(1);
});
