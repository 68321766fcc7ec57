// One time bound on a promise for the whole harness: the agent's job bound, the drivers'
// open and page waits, the external-server readiness probe. (Waits on events rather than on
// a promise, e.g. proc/channel.ts "ready", keep their own timer next to their listeners.)

/** `work`, or a rejection with Error(message) once `ms` pass, whichever comes first.
 *  `onTimeout` (e.g. cancel the call that did not answer) runs just before that rejection.
 *  The timer never outlives the race; `work` settling later is ignored (no unhandled
 *  rejection). */
export function withTimeout<T>(work: Promise<T>, ms: number, message: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(message));
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
