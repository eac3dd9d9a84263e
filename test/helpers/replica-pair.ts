// Two in-process gateway replicas sharing one real redis-server, in front of a builtin simulator,
// each ready as a load balancer judges it (/healthz 200, Redis connected).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../sim/index.js';
import { createToken, startTestGateway, type TestGateway } from './gateway.js';
import { poll } from './poll.js';
import { startRedis, type TestRedis } from './redis.js';

/** The origin users see (a load balancer's); each replica is reached at its own address. */
export const PUBLIC_URL = 'http://console.test:8080';

/** Where a replica listens: links name the public origin, tests reach each replica itself. */
export const address = (tg: TestGateway) => `http://127.0.0.1:${(tg.gateway.app.server.address() as { port: number }).port}`;
/** `url` (absolute under the public origin, or a path) as served by one replica. */
export const on = (tg: TestGateway, url: string) => `${address(tg)}${new URL(url, PUBLIC_URL).pathname}`;
/** The console websocket of the page at `location`, on one replica. */
export const socketOn = (tg: TestGateway, location: string) => `${on(tg, location).replace('http:', 'ws:')}websocket`;

export interface ReplicaPair {
  redis: TestRedis;
  sim: Simulator;
  a: TestGateway;
  b: TestGateway;
  /** The replicas' environment: Redis, the shared secret key, the public origin, and the extras. */
  env: Record<string, string>;
  /** /create's parameters for guest 100 of the simulator. */
  base: Record<string, string>;
  /** A console link made on `tg`. */
  link(tg: TestGateway): Promise<string>;
  stop(): Promise<void>;
}

export async function startReplicaPair(extraEnv: Record<string, string> = {}): Promise<ReplicaPair> {
  const redis = await startRedis();
  const sim = await startSimulator({ host: '127.0.0.2', port: 0, backend: 'builtin' });
  const env = {
    PROXMOXVNC_REDIS_URL: redis.url,
    PROXMOXVNC_REDIS_SECRET_KEY: randomBytes(32).toString('hex'),
    PROXMOXVNC_PUBLIC_URL: PUBLIC_URL,
    ...extraEnv,
  };
  const a = await startTestGateway(env, sim.caPem);
  const b = await startTestGateway(env, sim.caPem);
  for (const tg of [a, b]) await poll(() => request(`${address(tg)}/healthz`).then((r) => (r.body.dump(), r.statusCode)), (s) => s === 200, 'a ready replica');
  const base = { hostname: '127.0.0.2', port: String(sim.port), node: 'pve1', username: 'vncuser@pve', password: 'vncpass', vmid: '100' };
  return {
    redis,
    sim,
    a,
    b,
    env,
    base,
    async link(tg) {
      const created = await createToken({ ...tg, origin: address(tg) }, base);
      assert.equal(created.statusCode, 200, JSON.stringify(created.body));
      return created.body.url as string;
    },
    async stop() {
      await a.stop();
      await b.stop();
      await sim.stop();
      await redis.stop();
    },
  };
}
