// The heap a test process holds once everything collectable is collected: for the leak checks of
// the fuzz and fault suites (heap after a run against before it).
import { setImmediate as nextTurn } from 'node:timers/promises';
import { getHeapCodeStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** The process's `gc()`: exposed by --expose-gc, or switched on here when node started without it. */
function collector(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Heap in use by data once everything collectable is collected. Sockets and requests that just
 * finished release their memory only after their callbacks ran, so the event loop turns between
 * passes. Compiled code is left out: V8 keeps optimising hot functions long after a warm-up (about
 * 2 MB over 5,000 /create cases), which is no memory the cases hold on to.
 */
export async function settledHeapBytes(): Promise<number> {
  const gc = collector();
  for (let i = 0; i < 4; i++) {
    await nextTurn();
    gc();
  }
  const code = getHeapCodeStatistics();
  return process.memoryUsage().heapUsed - code.code_and_metadata_size - code.bytecode_and_metadata_size;
}

