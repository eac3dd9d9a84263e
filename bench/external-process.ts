// A relay that is a program of its own (websockify, socat), listening on a loopback port: started,
// waited for, measured by the CPU time of its process tree, stopped.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ExternalRelay {
  /** CPU time (user + system) of the program and the processes it forked per connection, in microseconds. */
  cpuMicros(): number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const MICROS_PER_TICK = 10_000; // USER_HZ is 100 on Linux.

/** Fields of /proc/<pid>/stat after the command name, which may itself hold spaces. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // exited meanwhile
  }
}

/**
 * Both programs fork a process per connection; an exited one's time is added to the parent's
 * cutime/cstime once reaped, a running one is read directly.
 */
function cpuMicrosOfTree(root: number): number {
  const own = statFields(root);
  if (!own) return 0;
  // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === root) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * MICROS_PER_TICK;
}

async function waitForPort(name: string, host: string, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${host}:${port} within ${READY_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

/** Runs `executable args`, resolving once it accepts connections on host:port. */
export async function startListeningProgram(name: string, executable: string, args: string[], host: string, port: number): Promise<ExternalRelay> {
  const child = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort(name, host, port),
      exited.then(() => Promise.reject(new Error(`${name} exited before listening: ${stderr.trim()}`))),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    cpuMicros: () => cpuMicrosOfTree(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
