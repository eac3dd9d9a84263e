import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './gateway.js';
import { exited, waitForPing } from './redis.js';
import { requireExecutable } from './system.js';

export interface TestRedisCluster {
  /** Client ports of the three masters. */
  ports: number[];
  nodes: { host: string; port: number }[];
  /** The first master, for code that takes one seed URL. */
  url: string;
  /** Kills every node (SIGKILL: nothing is saved anyway) and removes the working directory. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
/** Redis Cluster's node-to-node bus listens on the client port plus this, fixed by Redis. */
const BUS_PORT_OFFSET = 10_000;
const MASTERS = 3;

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * Client ports whose bus ports are free too. freePort hands out ephemeral ports (up to 60999
 * here), so many have no room for +10000 below 65536 and are passed over.
 */
async function pickClusterPorts(count: number): Promise<number[]> {
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt > 1000) throw new Error(`found no ${count} free port pairs (N and N+${BUS_PORT_OFFSET}) on ${HOST}`);
    const port = await freePort(HOST);
    const bus = port + BUS_PORT_OFFSET;
    if (bus > 65535 || taken.has(port) || taken.has(bus) || !(await isPortFree(bus))) continue;
    taken.add(port);
    taken.add(bus);
    ports.push(port);
  }
  return ports;
}

/**
 * Spawns one node; `ready` waits for PING and fails at once with the server's own words if it
 * exits first. The child is returned before it is ready so that a failed start is still killed.
 */
function launchNode(bin: string, port: number, dir: string): { child: ChildProcess; ready: Promise<void> } {
  const args = [
    '--cluster-enabled', 'yes',
    '--cluster-config-file', join(dir, `nodes-${port}.conf`),
    '--port', String(port),
    '--bind', HOST,
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const early = exited(child).then(() => {
    throw new Error(`redis-server --cluster-enabled on port ${port} exited (${child.exitCode ?? child.signalCode}):\n${output}`);
  });
  // Keeps a later exit (from stop) from surfacing as an unhandled rejection.
  early.catch(() => undefined);
  const ready = Promise.race([waitForPing(port), early]).then(() => {
    // Nobody reads the log once it runs; unread pipes would eventually stall the server.
    child.stdout?.off('data', collect).resume();
    child.stderr?.off('data', collect).resume();
  });
  return { child, ready };
}

function createCluster(cli: string, ports: number[]): Promise<void> {
  const args = ['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', '0', '--cluster-yes'];
  return new Promise((resolve, reject) => {
    execFile(cli, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

/** `--cluster create` returns once the config epochs agree, which can be before every node says ok. */
async function waitForClusterOk(ports: number[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const clients = ports.map((port) => new Redis({ host: HOST, port, maxRetriesPerRequest: 0, retryStrategy: () => null }));
  try {
    for (;;) {
      const infos = await Promise.all(clients.map((client) => client.call('CLUSTER', 'INFO').then(String, (err: unknown) => String(err))));
      const ready = infos.every((info) => /^cluster_state:ok\r?$/m.test(info) && new RegExp(`^cluster_known_nodes:${ports.length}\\r?$`, 'm').test(info));
      if (ready) return;
      if (Date.now() > deadline) {
        throw new Error(`redis cluster on ${ports.join(', ')} not ok within ${timeoutMs} ms:\n${infos.map((info, i) => `${ports[i]}: ${info.split(/\r?\n/).slice(0, 6).join(' ')}`).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    for (const client of clients) client.disconnect();
  }
}

/**
 * A real three-master Redis Cluster (no replicas) on free loopback ports, persisting nothing
 * (TRAPS.md). Fails, never skips, naming the Debian package when redis-server or redis-cli is
 * missing.
 */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  const server = requireExecutable('redis-server', 'redis-server');
  const cli = requireExecutable('redis-cli', 'redis-server');
  const dir = await mkdtemp(join(tmpdir(), 'pvnc-redis-cluster-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = await pickClusterPorts(MASTERS);
    const launched = ports.map((port) => launchNode(server, port, dir));
    children.push(...launched.map(({ child }) => child));
    // allSettled: a node failing must not leave its siblings' waits as unhandled rejections.
    const failed = (await Promise.allSettled(launched.map(({ ready }) => ready))).find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    await createCluster(cli, ports);
    await waitForClusterOk(ports);
    return {
      ports,
      nodes: ports.map((port) => ({ host: HOST, port })),
      url: `redis://${HOST}:${ports[0]}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
