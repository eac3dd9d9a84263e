import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './gateway.js';
import { requireExecutable } from './system.js';

export interface TestNginx {
  port: number;
  /** `http://127.0.0.1:PORT`; websockets at `ws://127.0.0.1:PORT`. */
  origin: string;
  /** SIGTERM, SIGKILL after 3 s, then removes the working directory. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** `http://host:port` to nginx's `host:port`; anything else would be a mistake in a test. */
function upstreamAddress(upstream: string): string {
  const url = new URL(upstream);
  if (url.protocol !== 'http:' || (url.pathname !== '/' && url.pathname !== '') || url.search) {
    throw new Error(`startNginx wants upstreams like http://127.0.0.1:PORT, got ${upstream}`);
  }
  return url.host;
}

function config(dir: string, port: number, addresses: string[]): string {
  const servers = addresses.map((address) => `    server ${address} max_fails=1 fail_timeout=2s;`).join('\n');
  return `# Written by test/helpers/nginx.ts for one test run.
# Root runs the tests; without this the workers run as nobody and cannot use the temp paths.
user root;
# One worker keeps round robin a strict alternation that tests can count on.
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;

events {
  worker_connections 1024;
}

http {
  access_log off;
  client_body_temp_path ${dir}/client_body_temp;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi_temp;
  uwsgi_temp_path ${dir}/uwsgi_temp;
  scgi_temp_path ${dir}/scgi_temp;

  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
  }

  # Round robin without stickiness: consecutive requests, and a websocket's reconnects, may land
  # on different backends, which is what a multi-instance deployment has to survive.
  upstream backends {
${servers}
  }

  server {
    listen ${HOST}:${port};

    location / {
      proxy_pass http://backends;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 2s;
      proxy_read_timeout 1h;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * A real nginx as a round-robin reverse proxy (websockets included) in front of `upstreams`, on
 * `requestedPort` or a free loopback port, with every path it writes inside a temporary directory
 * (TRAPS.md). `requestedPort` is for callers that must know the public origin before the backends
 * start. Fails, never skips, naming the Debian package when nginx is missing.
 */
export async function startNginx(upstreams: string[], requestedPort?: number): Promise<TestNginx> {
  const bin = requireExecutable('nginx', 'nginx-light');
  if (upstreams.length === 0) throw new Error('startNginx needs at least one upstream');
  const addresses = upstreams.map(upstreamAddress);
  const dir = await mkdtemp(join(tmpdir(), 'pvnc-nginx-'));
  const port = requestedPort ?? (await freePort(HOST));
  const confFile = join(dir, 'nginx.conf');
  await writeFile(confFile, config(dir, port, addresses));

  // -e: before reading the config nginx opens its built-in error log, outside the directory.
  // detached: its own process group, so SIGKILL reaches the worker too, not only the master.
  const child = spawn(bin, ['-p', dir, '-c', confFile, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const signal = (name: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, name);
    } catch {
      // already gone
    }
  };
  const stop = async () => {
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 3_000);
    await exited(child);
    clearTimeout(timer);
    // A worker outlives a master that was SIGKILLed; the group kill covers it.
    signal('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };

  const why = async (what: string) => {
    const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
    return new Error(`nginx on ${HOST}:${port} ${what}:\n${stderr}${log}`);
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const err = await why(`exited (${child.exitCode ?? child.signalCode})`);
      await stop();
      throw err;
    }
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      const err = await why('did not accept connections within 10 s');
      await stop();
      throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, origin: `http://${HOST}:${port}`, stop };
}
