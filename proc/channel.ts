// One typed control channel between a parent and a child process over Node's IPC pipe:
// start the child (optionally inside a network namespace), wait for its ready message,
// send typed requests and await their replies, stop it. Both ends are here: the parent
// calls startChild(), the child calls serveChannel().
//
// A contract names the child's ready message and, per request type, the request and its
// reply. Every request carries a correlation id, so replies can never be confused (two
// `stats` in flight, a late reply after a timeout). Envelopes on the wire:
//   child -> parent  {ready: R} once; {rid, reply} or {rid, error} per request
//   parent -> child  {rid, request}; {stop: true} to exit after the child's own cleanup
// The child exits when the parent goes away (IPC disconnect), so a SIGKILLed parent never
// leaves one behind.
import type { ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTs } from './exec.ts';

export interface ChannelContract {
  ready: object;
  requests: Record<string, { request: { type: string }; reply: unknown }>;
}

type Req<C extends ChannelContract> = C['requests'];
type Handlers<C extends ChannelContract> = {
  [K in keyof Req<C>]: (request: Req<C>[K]['request']) => Promise<Req<C>[K]['reply']> | Req<C>[K]['reply'];
};

type FromChild = { ready: unknown } | { rid: number; reply: unknown } | { rid: number; error: string };

export class ChannelError extends Error {
  readonly code = 'HOLBENCH_CHANNEL';
}

export interface StartOptions {
  /** network namespace to run in (ip netns exec) */
  ns?: string;
  /** extra environment (added to this process's) */
  env?: Record<string, string>;
  args?: readonly string[];
  /** the child's stdout: inherited (default) or ignored */
  stdout?: 'inherit' | 'ignore';
  readyTimeoutMs?: number;
}

export class ChildChannel<C extends ChannelContract> {
  private nextRid = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private stderr = '';
  private exited: Promise<void>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly ready: C['ready'],
  ) {
    this.exited = new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    child.stderr?.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
      if (process.env.HOLBENCH_DEBUG) process.stderr.write(d);
    });
    child.on('message', (m: FromChild) => {
      if (!m || typeof m !== 'object' || !('rid' in m)) return;
      const p = this.pending.get(m.rid);
      if (!p) return; // a reply after its timeout
      this.pending.delete(m.rid);
      clearTimeout(p.timer);
      if ('error' in m) p.reject(new ChannelError(`${this.name}: ${m.error}`));
      else p.resolve(m.reply);
    });
    child.once('exit', (code, signal) => {
      for (const [rid, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new ChannelError(`${this.name} exited (${signal ?? code}) with a request pending${this.tail()}`));
        this.pending.delete(rid);
      }
    });
  }

  /** The last lines the child wrote on stderr, for error messages. */
  tail(): string {
    const t = this.stderr.trim();
    return t ? `: ${t.split('\n').slice(-5).join(' | ')}` : '';
  }

  /** Send a request and await its reply; rejects after `timeoutMs` or if the child exits. */
  request<K extends keyof Req<C> & string>(request: Req<C>[K]['request'] & { type: K }, timeoutMs: number): Promise<Req<C>[K]['reply']> {
    if (!this.child.connected) return Promise.reject(new ChannelError(`${this.name} is not running${this.tail()}`));
    const rid = this.nextRid++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new ChannelError(`${this.name}: no reply to ${request.type} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(rid, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ rid, request });
    });
  }

  /** Ask the child to stop (its cleanup runs), SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (this.child.connected) this.child.send({ stop: true });
      else this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
  }

  /** SIGKILL now (signal teardown: no time for the child's cleanup). */
  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** Start a TypeScript entry point that calls serveChannel(), and wait for its ready message. */
export async function startChild<C extends ChannelContract>(script: string, o: StartOptions = {}): Promise<ChildChannel<C>> {
  const name = script.split('/').slice(-2).join('/');
  const child = startTs(script, o.args ?? [], {
    ns: o.ns,
    stdio: ['ignore', o.stdout ?? 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, ...(o.env ?? {}) },
  });
  let stderr = '';
  const onErr = (d: Buffer) => (stderr = (stderr + d).slice(-4000));
  child.stderr?.on('data', onErr);
  const timeoutMs = o.readyTimeoutMs ?? 30_000;
  try {
    const ready = await new Promise<C['ready']>((resolve, reject) => {
      const t = setTimeout(() => reject(new ChannelError(`${name} not ready after ${timeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`)), timeoutMs);
      const onMsg = (m: FromChild) => {
        if (m && typeof m === 'object' && 'ready' in m) {
          clearTimeout(t);
          child.off('message', onMsg);
          resolve(m.ready as C['ready']);
        }
      };
      child.on('message', onMsg);
      child.once('exit', (code, signal) => (clearTimeout(t), reject(new ChannelError(`${name} exited (${signal ?? code}) before ready${stderr ? `: ${stderr.trim()}` : ''}`))));
    });
    child.stderr?.off('data', onErr);
    const ch = new ChildChannel<C>(name, child, ready);
    return ch;
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
}

/** The child's end: answer requests with `handlers` (keyed by request type), announce `ready`,
 *  and on {stop} or a lost parent run `onStop` and exit 0. A handler that throws answers with
 *  the error's first line (the parent's request rejects with it). */
export function serveChannel<C extends ChannelContract>(ready: C['ready'], handlers: Handlers<C>, onStop: () => Promise<void> | void = () => {}): void {
  if (!process.send) throw new ChannelError('serveChannel: this process was not started with an IPC channel');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void Promise.resolve()
      .then(onStop)
      .catch(() => {})
      .finally(() => process.exit(0));
  };
  process.on('message', async (m: { rid?: number; request?: { type: string }; stop?: boolean }) => {
    if (m?.stop) return stop();
    if (typeof m?.rid !== 'number' || !m.request) return;
    const h = (handlers as Record<string, (r: unknown) => unknown>)[m.request.type];
    try {
      if (!h) throw new Error(`unknown request type ${m.request.type}`);
      const reply = await h(m.request);
      if (process.connected) process.send!({ rid: m.rid, reply });
    } catch (e) {
      if (process.connected) process.send!({ rid: m.rid, error: String((e as Error)?.message ?? e).split('\n')[0] });
    }
  });
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.send({ ready });
}

/** True when the module at `moduleUrl` (its import.meta.url) is the process's entry point, so
 *  an entry point can also be imported for its types and constants. Compares real paths:
 *  argv[1] keeps a symlinked checkout's path while import.meta.url is resolved. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
