import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const SIM_CLI = 'dist/sim/cli.js';

/** A `proxmoxvnc-sim` in a process of its own: one that a test can kill, as a host that dies. */
export interface SimulatorProcess {
  child: ChildProcess;
  host: string;
  port: number;
  /** Its node certificate's SHA-256, for /create's `fingerprint` pin. */
  fingerprint: string;
  /** SIGKILL: no connection is closed by the simulator itself, the kernel resets them. */
  kill(): Promise<void>;
}

/** Starts the simulator CLI on `host`, port 0, with `args`; resolves once it printed where it listens. */
export async function spawnSimulator(host: string, args: string[] = []): Promise<SimulatorProcess> {
  const child = spawn(process.execPath, [SIM_CLI, '--host', host, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const port = /listening on https:\/\/[^\s]+:(\d+)\/api2\/json/.exec(output)?.[1];
    const fingerprint = /fingerprint \(SHA-256\): ([0-9A-F:]+)/.exec(output)?.[1];
    if (port && fingerprint) {
      return {
        child,
        host,
        port: Number(port),
        fingerprint,
        async kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          await exited;
        },
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the simulator did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
