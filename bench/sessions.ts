// `npm run bench:sessions [-- --sessions N]`: the gateway holding many console sessions at once.
// Memory per connected idle session, round trips while 500 sessions are active (gateway, direct
// and the Node TLS pipe floor side by side), and how fast tokens are created and redeemed next to the gateway's cheapest route,
// with the memory store and with Redis (a real redis-server) side by side.
// Prints figures, asserts nothing.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { ChildServer, ProcessUsage } from './child.js';
import { directOpener, extraNodeGuest, gatewayOpener, type ConsoleOpener } from './consoles.js';
import type { GatewayChildInfo } from './gateway-child.js';
import { measureRoundTrips } from './measure.js';
import { median, percentile, table, TARGET_ADDED_MEDIAN_MS, TARGET_ADDED_P99_MS } from './report.js';
import { BenchRfbConnection } from './rfb-connection.js';
import { manySessionsSettings, startGatewayChild, startNodeFloorChild, startSimulatorChild } from './servers.js';
import type { SimChildInfo } from './sim-child.js';
import { startRedis, type TestRedis } from '../test/helpers/redis.js';

/** Below the 100 console ports of a node, leaving room on pve1 for the probes. */
const SESSIONS_PER_NODE = 90;
const OPEN_CONCURRENCY = 20;
const ACTIVE_SESSIONS = 500;
/** Each active session's pause between two round trips. */
const ACTIVE_PAUSE_MS = 200;
const ROUND_TRIP_BLOCKS = 8;
const ROUND_TRIPS_PER_BLOCK = 250;
const TOKEN_COUNT = 2_000;
const REQUEST_CONCURRENCY = 32;
const TARGET_IDLE_SESSION_BYTES = 48 * 1024;
const NODE_FLOOR_HOST = '127.0.0.5';
const PROBES = ['direct', 'node-floor', 'gateway'] as const;
type Probe = (typeof PROBES)[number];
/** Seconds a session outlives its last websocket; short, so ended sessions can be seen to free their memory. */
const RECONNECT_GRACE_SECONDS = 1;
const WARM_UP_SESSIONS = 200;

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (value: number) => value.toFixed(3);

/** Runs `task(i)` for i < count, `concurrency` at a time; resolves with the failures' messages. */
async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        await task(i).catch((err: unknown) => failures.push(err instanceof Error ? err.message : String(err)));
      }
    }),
  );
  return failures;
}

/** Requests per second of `count` requests made `REQUEST_CONCURRENCY` at a time. */
async function rate(count: number, one: (i: number) => Promise<void>): Promise<{ perSecond: number; failures: string[] }> {
  const started = performance.now();
  const failures = await inParallel(count, REQUEST_CONCURRENCY, one);
  return { perSecond: (count * 1000) / (performance.now() - started), failures };
}

async function openSessions(sim: SimChildInfo, gateway: GatewayChildInfo, count: number): Promise<{ connections: BenchRfbConnection[]; failures: string[]; seconds: number }> {
  const nodes = Math.ceil(count / SESSIONS_PER_NODE);
  const openers: ConsoleOpener[] = Array.from({ length: nodes }, (_, i) => gatewayOpener(gateway, sim, extraNodeGuest(i)));
  const connections: BenchRfbConnection[] = [];
  const started = performance.now();
  const failures = await inParallel(count, OPEN_CONCURRENCY, async (i) => {
    connections.push(await BenchRfbConnection.start(await openers[i % nodes]!.open()));
  });
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(openers.map((o) => o.close()));
  return { connections, failures, seconds };
}

/** Keeps `connections` busy with small round trips until the returned function is called. */
function keepActive(connections: BenchRfbConnection[]): () => Promise<number> {
  let running = true;
  let roundTrips = 0;
  const loops = connections.map(async (connection, i) => {
    await sleep((i * ACTIVE_PAUSE_MS) / connections.length); // spread over the pause
    while (running) {
      await connection.cutTextRoundTrip('busy');
      roundTrips++;
      await sleep(ACTIVE_PAUSE_MS);
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
    return roundTrips;
  };
}

async function probeRoundTrips(probes: Record<Probe, BenchRfbConnection>): Promise<Record<Probe, number[]>> {
  const samples: Record<Probe, number[]> = { direct: [], 'node-floor': [], gateway: [] };
  for (const path of PROBES) await measureRoundTrips(probes[path], 200);
  for (let block = 0; block < ROUND_TRIP_BLOCKS; block++) {
    for (const path of PROBES) samples[path].push(...(await measureRoundTrips(probes[path], ROUND_TRIPS_PER_BLOCK)));
  }
  return samples;
}

interface StoreFigures {
  healthz: number;
  created: number;
  redeemed: number;
  failures: string[];
  /** Median time of one redemption on its own (ms). */
  redeemMs: number;
  /** Median time to open a console: /create with validation, redemption, websocket and RFB handshake (ms). */
  openMs: number;
}

const OPEN_SAMPLES = 100;
const OPEN_WARM_UP = 30;
const LATENCY_SAMPLES = 300;

async function storeFigures(sim: SimChildInfo, gateway: GatewayChildInfo): Promise<StoreFigures> {
  const dispatcher = new Agent({ connections: REQUEST_CONCURRENCY });
  try {
    const auth = { authorization: gateway.secret };
    // A gateway on Redis is ready once its connection is: /healthz says so.
    for (let tries = 0; (await request(`${gateway.origin}/healthz`, { dispatcher }).then(async (r) => (await r.body.dump(), r.statusCode))) !== 200; tries++) {
      if (tries > 100) throw new Error('the gateway did not become ready');
      await sleep(100);
    }
    const healthz = await rate(TOKEN_COUNT, async () => {
      const answer = await request(`${gateway.origin}/healthz`, { dispatcher });
      await answer.body.dump();
      if (answer.statusCode !== 200) throw new Error(`healthz: HTTP ${answer.statusCode}`);
    });
    // validate: false, so no Proxmox round trip is counted.
    const body = JSON.stringify({ hostname: sim.host, port: sim.port, node: 'pve1', vmid: 100, username: 'vncuser@pve', password: 'vncpass', validate: false });
    const createLink = async () => {
      const answer = await request(`${gateway.origin}/create`, { method: 'POST', dispatcher, headers: { ...auth, 'content-type': 'application/json' }, body });
      const json = (await answer.body.json()) as { url?: string };
      if (answer.statusCode !== 200 || !json.url) throw new Error(`create: HTTP ${answer.statusCode}`);
      return json.url;
    };
    const redeemLink = async (link: string) => {
      const answer = await request(link, { dispatcher });
      await answer.body.dump();
      if (answer.statusCode !== 302) throw new Error(`redeem: HTTP ${answer.statusCode}`);
    };
    const links: string[] = [];
    const created = await rate(TOKEN_COUNT, async () => void links.push(await createLink()));
    const redeemed = await rate(links.length, (i) => redeemLink(links[i]!));

    const single: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const link = await createLink();
      const started = performance.now();
      await redeemLink(link);
      single.push(performance.now() - started);
    }
    const opener = gatewayOpener(gateway, sim);
    const opens: number[] = [];
    try {
      // Unmeasured first: a fresh process compiles its code on the first consoles it opens.
      for (let i = 0; i < OPEN_WARM_UP; i++) (await BenchRfbConnection.start(await opener.open())).close();
      for (let i = 0; i < OPEN_SAMPLES; i++) {
        const started = performance.now();
        const connection = await BenchRfbConnection.start(await opener.open());
        opens.push(performance.now() - started);
        connection.close();
      }
    } finally {
      await opener.close();
    }
    return {
      healthz: healthz.perSecond,
      created: created.perSecond,
      redeemed: redeemed.perSecond,
      failures: [...healthz.failures, ...created.failures, ...redeemed.failures],
      redeemMs: median(single),
      openMs: median(opens),
    };
  } finally {
    await dispatcher.close();
  }
}

/** The memory store and the Redis store side by side, measured the same way in this run. */
function storeRows(memory: StoreFigures, redis: StoreFigures): string[][] {
  const perS = (v: number) => v.toFixed(0);
  return [
    [`tokens (${TOKEN_COUNT} each, ${REQUEST_CONCURRENCY} at a time)`, 'memory', 'Redis', 'Redis / memory'],
    ['  GET /healthz per s (baseline)', perS(memory.healthz), perS(redis.healthz), (redis.healthz / memory.healthz).toFixed(2)],
    ['  POST /create per s (validate: false)', perS(memory.created), perS(redis.created), (redis.created / memory.created).toFixed(2)],
    ['  GET /vnc/<token> per s (redeem)', perS(memory.redeemed), perS(redis.redeemed), (redis.redeemed / memory.redeemed).toFixed(2)],
    [`  one redemption alone, median ms (n=${LATENCY_SAMPLES})`, ms(memory.redeemMs), ms(redis.redeemMs), `+${ms(redis.redeemMs - memory.redeemMs)} ms`],
    [`  opening a console, median ms (n=${OPEN_SAMPLES})`, ms(memory.openMs), ms(redis.openMs), `+${ms(redis.openMs - memory.openMs)} ms`],
    ['  failed requests', String(memory.failures.length), String(redis.failures.length), redis.failures[0] ?? memory.failures[0] ?? ''],
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sessions: { type: 'string', default: '1000' } } });
  const sessionCount = Number(values.sessions);
  if (!Number.isInteger(sessionCount) || sessionCount < ACTIVE_SESSIONS) throw new Error(`--sessions must be a whole number of at least ${ACTIVE_SESSIONS}`);
  const loadAverageBefore = loadavg()[0]!;
  const children: ChildServer<unknown>[] = [];
  const connections: BenchRfbConnection[] = [];
  const openers: ConsoleOpener[] = [];
  let redis: TestRedis | undefined;
  try {
    const sim = await startSimulatorChild(Math.ceil(sessionCount / SESSIONS_PER_NODE));
    children.push(sim);
    const gatewaySettings = {
      PROXMOXVNC_RECONNECT_GRACE: String(RECONNECT_GRACE_SECONDS),
      // Every session's websocket, and the token run's requests, come from this one address.
      ...manySessionsSettings(sessionCount + TOKEN_COUNT),
    };
    const gateway = await startGatewayChild(sim.info.caPem, gatewaySettings, ['--expose-gc']);
    children.push(gateway);

    const nodeFloor = await startNodeFloorChild(NODE_FLOOR_HOST, sim.info);
    children.push(nodeFloor);
    const direct = await directOpener(sim.info);
    const viaNodeFloor = await directOpener(sim.info, nodeFloor.info.origin);
    const viaGateway = gatewayOpener(gateway.info, sim.info);
    openers.push(direct, viaNodeFloor, viaGateway);
    // One after the other: a vncproxy call replaces the guest's VNC password, failing a handshake still running.
    const probes: Record<Probe, BenchRfbConnection> = {
      direct: await BenchRfbConnection.start(await direct.open()),
      'node-floor': await BenchRfbConnection.start(await viaNodeFloor.open()),
      gateway: await BenchRfbConnection.start(await viaGateway.open()),
    };
    connections.push(...Object.values(probes));
    const idleRoundTrips = await probeRoundTrips(probes);

    // A warm gateway (code compiled, caches and pools filled) before the first reading.
    const warmUp = await openSessions(sim.info, gateway.info, WARM_UP_SESSIONS);
    for (const connection of warmUp.connections) connection.close();
    await sleep(RECONNECT_GRACE_SECONDS * 1000 + 3_000);
    const before: ProcessUsage = await gateway.usage(true);
    const opened = await openSessions(sim.info, gateway.info, sessionCount);
    connections.push(...opened.connections);
    await sleep(1_000);
    const after: ProcessUsage = await gateway.usage(true);
    const held = opened.connections.length;
    const perSession = (field: keyof NodeJS.MemoryUsage) => (after.memory[field] - before.memory[field]) / Math.max(held, 1);

    const stopActive = keepActive(opened.connections.slice(0, ACTIVE_SESSIONS));
    const activeRoundTrips = await probeRoundTrips(probes);
    const backgroundRoundTrips = await stopActive();

    const rows = (label: string, samples: Record<Probe, number[]>) => [
      ...PROBES.map((path) => [`  ${label}: ${path}`, ms(median(samples[path])), ms(percentile(samples[path], 99))]),
      [`  ${label}: gateway over node-floor`, ms(median(samples.gateway) - median(samples['node-floor'])), ms(percentile(samples.gateway, 99) - percentile(samples['node-floor'], 99))],
    ];
    // Every session ends: its memory must come back (the token run below adds sessions of its own).
    for (const connection of opened.connections) connection.close();
    await sleep(RECONNECT_GRACE_SECONDS * 1000 + 3_000);
    const ended: ProcessUsage = await gateway.usage(true);
    const memoryStore = await storeFigures(sim.info, gateway.info);
    // The same gateway settings, its tokens and sessions in a real redis-server.
    redis = await startRedis();
    const redisGateway = await startGatewayChild(sim.info.caPem, {
      ...gatewaySettings,
      PROXMOXVNC_REDIS_URL: redis.url,
      PROXMOXVNC_REDIS_SECRET_KEY: randomBytes(32).toString('hex'),
    });
    children.push(redisGateway);
    const redisStore = await storeFigures(sim.info, redisGateway.info);
    const cpu = cpus();
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const added = (samples: Record<Probe, number[]>, p: (v: number[]) => number) => p(samples.gateway) - p(samples['node-floor']);
    const p99 = (v: number[]) => percentile(v, 99);
    process.stdout.write(
      [
        `proxmoxvnc sessions benchmark: Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), 1-minute load average before the run ${loadAverageBefore.toFixed(2)}`,
        'simulator and gateway each in their own process, clients in this one; a session is a redeemed link with its console websocket open past the RFB handshake',
        '',
        table([
          [`gateway holding ${sessionCount} sessions`, 'value'],
          ['  sessions open', `${held} of ${sessionCount} (${opened.failures.length} failed${opened.failures[0] ? `: ${opened.failures[0]}` : ''})`],
          ['  time to open them', `${opened.seconds.toFixed(1)} s, ${OPEN_CONCURRENCY} at a time`],
          ['  resident memory per session', kib(perSession('rss'))],
          ['  JS heap per session (after a full GC)', kib(perSession('heapUsed'))],
          ['  memory outside the heap per session', kib(perSession('external'))],
          ['  gateway resident memory in all', `${(after.memory.rss / 1e6).toFixed(1)} MB`],
          ['  JS heap left once all had ended', `${kib(ended.memory.heapUsed - before.memory.heapUsed)} over the start`],
        ]),
        '',
        table([
          [`round trip of a small message (ms, n=${ROUND_TRIP_BLOCKS * ROUND_TRIPS_PER_BLOCK} per path)`, 'median', 'p99'],
          ...rows('idle gateway', idleRoundTrips),
          ...rows(`${ACTIVE_SESSIONS} active sessions`, activeRoundTrips),
        ]),
        `  (active: each of ${ACTIVE_SESSIONS} sessions does a round trip every ${ACTIVE_PAUSE_MS} ms; ${backgroundRoundTrips} of them ran meanwhile)`,
        '',
        table(storeRows(memoryStore, redisStore)),
        '',
        'targets (DESIGN.md section 10):',
        `  under ${kib(TARGET_IDLE_SESSION_BYTES)} per connected idle session: ${met(perSession('rss') < TARGET_IDLE_SESSION_BYTES)} (${kib(perSession('rss'))} resident, ${kib(perSession('heapUsed'))} of it JS heap)`,
        `  with ${ACTIVE_SESSIONS} active sessions, round trip at most ${ms(TARGET_ADDED_MEDIAN_MS)} ms over node-floor's at the median: ${met(added(activeRoundTrips, median) <= TARGET_ADDED_MEDIAN_MS)} (${ms(added(activeRoundTrips, median))}); under ${ms(TARGET_ADDED_P99_MS)} ms at p99: ${met(added(activeRoundTrips, p99) < TARGET_ADDED_P99_MS)} (${ms(added(activeRoundTrips, p99))})`,
        `  ${sessionCount} concurrent sessions in one process: ${met(held === sessionCount)}`,
        `  through Redis at least 2,000 creations and 2,000 redemptions per second: ${met(redisStore.created >= 2000 && redisStore.redeemed >= 2000)}; under 2 ms added to a redemption: ${met(redisStore.redeemMs - memoryStore.redeemMs < 2)}`,
      ].join('\n') + '\n',
    );
  } finally {
    for (const connection of connections) connection.close();
    await Promise.all(openers.map((o) => o.close()));
    for (const child of children.reverse()) await child.stop();
    await redis?.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
