import type { Logger } from './log.js';

/**
 * Work nobody awaits (a store update after a viewer left, a sweep): its failure is logged, never
 * an unhandled rejection that would take every console down with the process.
 */
export function detached(log: Logger, what: string, work: () => Promise<unknown>): void {
  let started: Promise<unknown>;
  try {
    started = work();
  } catch (error) {
    started = Promise.reject(error);
  }
  started.catch((error: unknown) => log.error(`${what} failed`, { error }));
}

/**
 * `work` every `ms`, never two runs at once (a slow store must not pile sweeps up), each run
 * detached. Returns the function that stops it.
 */
export function repeatDetached(log: Logger, what: string, ms: number, work: () => Promise<unknown>): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    detached(log, what, () => work().finally(() => (running = false)));
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}
