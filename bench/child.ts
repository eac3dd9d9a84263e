// A server under measurement runs in its own process, so it does not share an event loop with the
// measuring clients or with the other server. Both sides of the small IPC protocol live here.
import { fork, type ChildProcess } from 'node:child_process';
import { getHeapCodeStatistics } from 'node:v8';

type ParentMessage<O> = { type: 'start'; options: O } | { type: 'usage'; collectGarbage: boolean } | { type: 'stop' };
type ChildMessage<I> = { type: 'ready'; info: I } | { type: 'failed'; error: string } | { type: 'usage'; usage: ProcessUsage };

/** What a child process used so far: CPU time (user + system) and memory now. */
export interface ProcessUsage {
  cpuMicros: number;
  memory: NodeJS.MemoryUsage;
  /** Of `memory.heapUsed`, compiled code and bytecode, which V8 adds to long after a warm-up. */
  heapCodeBytes: number;
}

/** What a child's start function hands back. */
export interface Started<I> {
  info: I;
  stop(): Promise<void>;
}

/** The parent's handle on a server running in a child process. */
export interface ChildServer<I> extends Started<I> {
  /** With `collectGarbage` (a child started with --expose-gc), memory is read after a full collection. */
  usage(collectGarbage?: boolean): Promise<ProcessUsage>;
  /** CPU time (user + system) the child used so far, in microseconds. */
  cpuMicros(): Promise<number>;
}

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

export function cpuMicrosOfThisProcess(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Child side: starts the server when asked, stops it when asked or when the parent goes away. */
export function serveInChild<O, I>(start: (options: O) => Promise<Started<I>>): void {
  if (!process.send) throw new Error('this file runs as a child of bench/run.js');
  const send = (message: ChildMessage<I>, then: () => void = () => {}) => process.send?.(message, undefined, undefined, then);
  let started: Promise<Started<I>> | undefined;
  let stopping = false;
  const stopAndExit = (): void => {
    if (stopping) return;
    stopping = true;
    Promise.resolve(started)
      .then((s) => s?.stop())
      .then(
        () => process.exit(0),
        (err: Error) => {
          process.stderr.write(`${err.stack ?? err.message}\n`);
          process.exit(1);
        },
      );
  };
  process.on('message', (message: ParentMessage<O>) => {
    if (message.type === 'stop') return stopAndExit();
    if (message.type === 'usage') {
      if (message.collectGarbage) (globalThis as { gc?: () => void }).gc?.();
      const code = getHeapCodeStatistics();
      const heapCodeBytes = code.code_and_metadata_size + code.bytecode_and_metadata_size;
      return void send({ type: 'usage', usage: { cpuMicros: cpuMicrosOfThisProcess(), memory: process.memoryUsage(), heapCodeBytes } });
    }
    if (started) return;
    started = start(message.options);
    started.then(
      (s) => send({ type: 'ready', info: s.info }),
      (err: Error) => send({ type: 'failed', error: err.stack ?? err.message }, () => process.exit(1)),
    );
  });
  // The IPC channel closes when the parent exits, however it exits.
  process.on('disconnect', stopAndExit);
}

/**
 * Parent side: forks `entry` with this process's node options plus `nodeOptions`, starts its
 * server with `options`, resolves once it reported ready.
 */
export async function startInChild<O, I>(entry: URL, options: O, nodeOptions: string[] = []): Promise<ChildServer<I>> {
  const child: ChildProcess = fork(entry, { execArgv: [...process.execArgv, ...nodeOptions], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const send = (message: ParentMessage<O>) => child.send(message);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError ??= err));
  const usageAnswers: { resolve(usage: ProcessUsage): void; reject(err: Error): void }[] = [];
  void exited.then(() => {
    for (const answer of usageAnswers.splice(0)) answer.reject(new Error(`${entry.pathname} exited`));
  });

  const ready = new Promise<I>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry.pathname} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.on('message', (message: ChildMessage<I>) => {
      if (message.type === 'usage') return usageAnswers.shift()?.resolve(message.usage);
      clearTimeout(timer);
      if (message.type === 'ready') resolve(message.info);
      else reject(new Error(`${entry.pathname} failed to start: ${message.error}`));
    });
    void exited.then((code) => reject(spawnError ?? new Error(`${entry.pathname} exited with code ${String(code)} before it was ready`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) send({ type: 'stop' });
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  // The child answers in order, so answers are matched to questions first in, first out.
  const usage = (collectGarbage = false): Promise<ProcessUsage> =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error(`${entry.pathname} is gone`));
      usageAnswers.push({ resolve, reject });
      send({ type: 'usage', collectGarbage });
    });

  try {
    send({ type: 'start', options });
    return { info: await ready, stop, usage, cpuMicros: async () => (await usage()).cpuMicros };
  } catch (err) {
    await stop();
    throw err;
  }
}
