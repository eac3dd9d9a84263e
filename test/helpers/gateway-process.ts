import { spawn, type ChildProcess } from 'node:child_process';

const CLI = 'dist/src/cli.js';

/** A `proxmoxvnc` child process with its output kept. */
export interface GatewayProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
  /** stdout and stderr so far. */
  output(): string;
  /** Whether it has neither exited nor been killed by a signal. */
  running(): boolean;
}

/** Starts `node dist/src/cli.js ARGS` with only PATH and `env` in its environment. */
export function spawnGateway(args: string[], env: Record<string, string> = {}): GatewayProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: GatewayProcess = {
    child,
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    output: () => run.stdout.join('') + run.stderr.join(''),
    running: () => child.exitCode === null && child.signalCode === null,
  };
  child.stdout!.on('data', (chunk: Buffer) => run.stdout.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => run.stderr.push(chunk.toString()));
  return run;
}

/** Waits until the output matches `pattern`; fails with the output when it has not within the time, or the process exited. */
export async function waitForOutput(run: GatewayProcess, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = run.output().match(pattern);
    if (match) return match;
    if (!run.running() || Date.now() > deadline) {
      throw new Error(`no ${pattern} in the output of ${run.running() ? 'the running' : 'the exited'} gateway:\n${run.stdout.join('')}\n${run.stderr.join('')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The port the gateway bound, read from its "listening on ADDR:PORT" log line (text or JSON
 * format): started with port 0, no other process can take the port between choice and bind.
 */
export async function listeningPort(run: GatewayProcess, timeoutMs = 30_000): Promise<number> {
  const [, port] = await waitForOutput(run, /listening on (?:[^\s,"]+):(\d+)/, timeoutMs);
  return Number(port);
}
