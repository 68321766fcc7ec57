// Teardown on every exit path. Library code registers cleanups here; the CLI (or a test
// script) calls installSignalHandlers() once so SIGINT/SIGTERM run them before exiting.
type Cleanup = () => Promise<void> | void;

const cleanups = new Set<Cleanup>();
let installed = false;
let exiting = false;

/** True once a signal started the teardown; long loops check it and stop early. */
export function isExiting(): boolean {
  return exiting;
}

/** Register a cleanup; returns a function that unregisters it (call after a normal teardown). */
export function onCleanup(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Run all registered cleanups, newest first, each at most once. Never throws. */
export async function runCleanups(): Promise<void> {
  const list = [...cleanups].reverse();
  cleanups.clear();
  for (const fn of list) {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`holbench: cleanup step failed: ${(err as Error).message}\n`);
    }
  }
}

/** On SIGINT (exit 130) and SIGTERM (exit 143): tear everything down, then exit. */
export function installSignalHandlers(onSignal?: (sig: NodeJS.Signals) => void): void {
  if (installed) return;
  installed = true;
  const handler = (sig: NodeJS.Signals) => {
    if (exiting) return; // a second Ctrl-C while cleaning up: keep cleaning
    exiting = true;
    onSignal?.(sig);
    void runCleanups().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
}
