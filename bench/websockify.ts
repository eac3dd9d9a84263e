// websockify (Debian's package, Python) in front of a console server's unix socket: the reference
// a general-purpose websocket-to-TCP relay sets for throughput and round trips.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../test/helpers/gateway.js';
import { findExecutable } from '../test/helpers/system.js';

export interface Websockify {
  url: string;
  /** CPU time (user + system) of websockify and the processes it forked per connection, in microseconds. */
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
 * websockify forks a process per connection; an exited one's time is added to the parent's
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

async function waitForPort(host: string, port: number): Promise<void> {
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
    if (Date.now() > deadline) throw new Error(`websockify did not listen on ${host}:${port} within ${READY_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

/** Null (and a line saying how to install it) when websockify is not installed. */
export async function startWebsockify(host: string, unixTarget: string): Promise<Websockify | null> {
  const executable = findExecutable('websockify');
  if (!executable) return null;
  const port = await freePort(host);
  const child = spawn(executable, [`--unix-target=${unixTarget}`, `${host}:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort(host, port),
      exited.then(() => Promise.reject(new Error(`websockify exited before listening: ${stderr.trim()}`))),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url: `ws://${host}:${port}/`,
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
