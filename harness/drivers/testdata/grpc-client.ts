// Test fixture (grpc.test.ts): runs harness/drivers/grpc.ts in the client namespace.
// argv[2] = JSON config (below). Prints one JSON line per event on stdout:
//   {"ev":"open","atMs"}  {"ev":"dead","atMs","mechanism","detail"}
//   {"ev":"done","seqs":[...arrival order],"connectionsOpened","reconnects","elapsedMs"}
// or {"ev":"error","message"} (exit 1).
// preload: 'drivers' loads every driver module of the protocol table first (as an agent that
// ran other protocols before has), 'grpc-js' loads grpc-js first (without our tracer).
import type { GrpcProtocol } from '../grpc.ts';
import type { Keepalive } from '../../../contract/messages.ts';
import { nowMs } from '../../../contract/messages.ts';

interface Config {
  protocol: GrpcProtocol;
  host: string;
  port: number;
  keepalive: Keepalive;
  requestTimeoutMs: number;
  stream: string;
  count: number;
  /** push: the server's spacing; echo: our send spacing */
  intervalMs: number;
  bytes: number;
  resume: boolean;
  /** give up after this long */
  waitMs: number;
  preload?: 'drivers' | 'grpc-js';
}

const cfg = JSON.parse(process.argv[2]!) as Config;
const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  if (cfg.preload === 'drivers') {
    const { PROTOCOL_TABLE } = await import('../../protocols.ts');
    for (const def of Object.values(PROTOCOL_TABLE)) await def.driver();
  } else if (cfg.preload === 'grpc-js') {
    await import('@grpc/grpc-js');
  }
  const { createGrpcDriver } = await import('../grpc.ts');
  const driver = await createGrpcDriver(cfg.protocol)({
    target: { host: cfg.host, port: cfg.port },
    keepalive: cfg.keepalive,
    requestTimeoutMs: cfg.requestTimeoutMs,
  });
  const pattern = cfg.protocol === 'grpc-stream' ? 'push' : 'echo';
  const seqs: number[] = [];
  const unique = new Set<number>();
  let wake: (() => void) | null = null;
  const t0 = nowMs();
  try {
    await driver.open(
      { pattern, stream: cfg.stream, count: cfg.count, intervalMs: cfg.intervalMs, bytes: cfg.bytes, resume: cfg.resume },
      {
        onMessage(seq) {
          seqs.push(seq);
          unique.add(seq);
          if (unique.size >= cfg.count) wake?.();
        },
        onDead(mechanism, detail) {
          out({ ev: 'dead', atMs: nowMs(), mechanism, detail });
        },
        onLost() {}, // this client counts what came back, not what was given up on
      },
    );
    out({ ev: 'open', atMs: nowMs() });
    const allIn = new Promise<void>((r) => (wake = r));
    if (pattern === 'echo') {
      for (let seq = 1; seq <= cfg.count; seq++) {
        driver.send(seq);
        await sleep(cfg.intervalMs);
      }
    }
    if (unique.size < cfg.count) await Promise.race([allIn, sleep(Math.max(0, t0 + cfg.waitMs - nowMs()))]);
    out({ ev: 'done', seqs, connectionsOpened: driver.connectionsOpened(), reconnects: driver.reconnects(), elapsedMs: Math.round(nowMs() - t0) });
  } finally {
    await driver.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    out({ ev: 'error', message: (err as Error).message });
    process.exit(1);
  },
);
