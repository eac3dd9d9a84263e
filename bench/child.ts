// A server under measurement runs in its own process, so it does not share an event loop with the
// measuring clients or with the other server. Both sides of the small IPC protocol live here.
import { fork, type ChildProcess } from 'node:child_process';

type ParentMessage<O> = { type: 'start'; options: O } | { type: 'stop' };
type ChildMessage<I> = { type: 'ready'; info: I } | { type: 'failed'; error: string };

export interface Started<I> {
  info: I;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** Child side: starts the server when asked, stops it when asked or when the parent goes away. */
export function serveInChild<O, I>(start: (options: O) => Promise<Started<I>>): void {
  if (!process.send) throw new Error('this file runs as a child of bench/run.js');
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
    if (started) return;
    started = start(message.options);
    started.then(
      (s) => process.send?.({ type: 'ready', info: s.info } satisfies ChildMessage<I>),
      (err: Error) => process.send?.({ type: 'failed', error: err.stack ?? err.message } satisfies ChildMessage<I>, () => process.exit(1)),
    );
  });
  // The IPC channel closes when the parent exits, however it exits.
  process.on('disconnect', stopAndExit);
}

/** Parent side: forks `entry`, starts its server with `options`, resolves with what it reported. */
export async function startInChild<O, I>(entry: URL, options: O): Promise<Started<I>> {
  const child: ChildProcess = fork(entry, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError ??= err));
  const ready = new Promise<I>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry.pathname} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.on('message', (message: ChildMessage<I>) => {
      clearTimeout(timer);
      if (message.type === 'ready') resolve(message.info);
      else reject(new Error(`${entry.pathname} failed to start: ${message.error}`));
    });
    void exited.then((code) => reject(spawnError ?? new Error(`${entry.pathname} exited with code ${String(code)} before it was ready`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage<O>);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  try {
    child.send({ type: 'start', options } satisfies ParentMessage<O>);
    return { info: await ready, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
