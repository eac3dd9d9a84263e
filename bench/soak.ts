// `npm run bench:soak [-- --minutes 10 --sessions 1000 --interval 60]`: the gateway holding
// `sessions` console sessions for `minutes`, with churn: each of them opens a link, types into its
// console, closes it, reopens it (a reload), closes it again, is ended by the backend, and starts
// over with a new link. Prints the gateway's resident memory and JS heap (after a full GC) at each
// interval (the heap without compiled code, which V8 keeps adding to after any warm-up) and a
// least-squares slope over the readings after the first minute (the sessions' ramp), with its
// verdict.
// Asserts nothing.
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { openConsoleSocket } from '../test/helpers/gateway.js';
import type { ChildServer } from './child.js';
import { extraNodeGuest } from './consoles.js';
import type { GatewayChildInfo } from './gateway-child.js';
import { table } from './report.js';
import { manySessionsSettings, startGatewayChild, startSimulatorChild } from './servers.js';
import type { SimChildInfo } from './sim-child.js';

/**
 * Sessions per guest (one guest per node, below a node's 100 console ports): a guest's consoles
 * open one at a time, up to VNC authentication, so fewer per guest keeps the openings from queueing.
 */
const SESSIONS_PER_GUEST = 25;
/** The sessions start spread over the first minute; the slope leaves that minute out. */
const RAMP_MS = 60_000;
/** Longer than the gateway's own deadline for an opening (proxmox_timeout, 10 s): it answers first. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** A console is held for a time drawn between these. */
const HOLD_MIN_MS = 45_000;
const HOLD_MAX_MS = 135_000;
/** While held, a key and a small screen update about this often. */
const TYPE_EVERY_MS = 5_000;
/** Connections each session gets before the backend ends it: the first, then a reload. */
const CONNECTIONS_PER_SESSION = 2;
/** After a failure a slot waits this long or up to twice it: retrying at once would pile openings onto a machine too busy for them. */
const FAILURE_PAUSE_MS = 5_000;
/**
 * A slope is flat when, two standard errors included, it is under this share of the mean reading
 * per minute; it is not when, two standard errors taken off, it is still over it. 0.5% a minute
 * is 7% an hour, which would be a leak in a gateway that runs for weeks; with 1,000 sessions it is
 * about 250 KB a minute of heap, some 350 bytes per console opened at this churn, while the heap
 * read after a full GC with the same sessions held varies by about 1% between readings: over nine
 * readings a minute apart that noise gives a slope's standard error near a fifth of the threshold.
 */
const FLAT_SHARE_PER_MINUTE = 0.005;

interface Counts {
  /** Slots whose first console opened: the ramp is over once all have. */
  slotsUp: number;
  linksMade: number;
  consolesOpened: number;
  sessionsEnded: number;
  keysTyped: number;
  /** Consoles open right now. */
  holding: number;
  failures: number;
  firstFailure?: string;
}

interface Reading {
  minute: number;
  /** Share of one core the gateway and the simulator used since the previous reading. */
  gatewayCpu: number;
  simulatorCpu: number;
  rssBytes: number;
  /** What V8 holds from the system for its heap, used or not: resident memory that is no leak. */
  heapCommittedBytes: number;
  /** Resident memory V8's heap does not account for: where a native leak (TLS, sockets) would show. */
  outsideHeapBytes: number;
  heapBytes: number;
  /** Memory outside the JS heap that V8 knows of: Buffers and other ArrayBuffers, mostly sockets' data. */
  externalBytes: number;
  holding: number;
  consolesOpened: number;
  failures: number;
  /** Every slot had opened its first console by then. */
  rampDone: boolean;
}

/** Least-squares slope of y over x, with its standard error (infinite for fewer than 3 points). */
function fit(points: readonly { x: number; y: number }[]): { slope: number; standardError: number } {
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  const sxx = points.reduce((sum, p) => sum + (p.x - meanX) ** 2, 0);
  const slope = points.reduce((sum, p) => sum + (p.x - meanX) * (p.y - meanY), 0) / sxx;
  if (n < 3) return { slope, standardError: Number.POSITIVE_INFINITY };
  const residuals = points.reduce((sum, p) => sum + (p.y - meanY - slope * (p.x - meanX)) ** 2, 0);
  return { slope, standardError: Math.sqrt(residuals / (n - 2) / sxx) };
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const percent = (share: number) => `${(share * 100).toFixed(0)}%`;

/** One session after another, for one of the `sessions` slots, until `deadline`. */
async function runSlot(gateway: GatewayChildInfo, sim: SimChildInfo, guest: { node: string; vmid: number }, dispatcher: Agent, counts: Counts, deadline: number): Promise<void> {
  const params = JSON.stringify({ hostname: sim.host, port: sim.port, username: 'vncuser@pve', password: 'vncpass', ...guest });
  const fail = async (err: unknown) => {
    counts.failures++;
    counts.firstFailure ??= err instanceof Error ? err.message : String(err);
    await sleep(FAILURE_PAUSE_MS * (1 + Math.random()));
  };
  let up = false;
  while (Date.now() < deadline) {
    let sessionId: string | undefined;
    try {
      const created = await request(`${gateway.origin}/create`, { method: 'POST', dispatcher, headers: { authorization: gateway.secret, 'content-type': 'application/json' }, body: params });
      const link = (await created.body.json()) as { url?: string; error?: string };
      if (created.statusCode !== 200 || !link.url) throw new Error(`create: HTTP ${created.statusCode} ${link.error ?? ''}`);
      counts.linksMade++;
      const redeemed = await request(link.url, { dispatcher });
      await redeemed.body.dump();
      const location = redeemed.headers.location;
      const setCookie = redeemed.headers['set-cookie'];
      const cookie = (Array.isArray(setCookie) ? setCookie[0] : setCookie)?.split(';')[0];
      if (redeemed.statusCode !== 302 || typeof location !== 'string' || !cookie) throw new Error(`redeem: HTTP ${redeemed.statusCode}`);
      sessionId = location.split('/')[2];
      const wsUrl = `${gateway.origin.replace(/^http/, 'ws')}${location}websocket`;
      for (let connection = 0; connection < CONNECTIONS_PER_SESSION && Date.now() < deadline; connection++) {
        await holdConsole(wsUrl, { origin: gateway.origin, cookie }, counts, deadline, () => {
          if (!up) counts.slotsUp++;
          up = true;
        });
      }
    } catch (err) {
      await fail(err);
    }
    if (sessionId === undefined) continue;
    try {
      const ended = await request(`${gateway.origin}/sessions/${sessionId}`, { method: 'DELETE', dispatcher, headers: { authorization: gateway.secret } });
      await ended.body.dump();
      if (ended.statusCode >= 300) throw new Error(`ending the session: HTTP ${ended.statusCode}`);
      counts.sessionsEnded++;
    } catch (err) {
      await fail(err);
    }
  }
}

/** Opens the console, types into it now and then, reading a small update each time, and closes it. */
async function holdConsole(wsUrl: string, headers: Record<string, string>, counts: Counts, deadline: number, onOpen: () => void): Promise<void> {
  const opened = await openConsoleSocket(wsUrl, headers);
  if (opened.status !== 101) throw new Error(`console websocket: HTTP ${opened.status}`);
  const client = opened.client!;
  counts.holding++;
  try {
    const handshake = await client.handshake({ timeoutMs: HANDSHAKE_TIMEOUT_MS });
    if (handshake.securityResult !== 0) throw new Error(`console refused: ${handshake.reason ?? ''}`);
    counts.consolesOpened++;
    onOpen();
    const until = Math.min(deadline, Date.now() + HOLD_MIN_MS + Math.random() * (HOLD_MAX_MS - HOLD_MIN_MS));
    while (Date.now() < until) {
      await sleep(Math.min(until - Date.now(), TYPE_EVERY_MS * (0.5 + Math.random())));
      client.typeText(String.fromCharCode(97 + Math.floor(Math.random() * 26)));
      counts.keysTyped++;
      client.requestUpdate(false, 0, 0, 64, 16);
      await client.readFramebufferUpdate(30_000);
    }
  } finally {
    counts.holding--;
    client.close();
    await client.closed;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, sessions: { type: 'string', default: '1000' }, interval: { type: 'string', default: '60' } } });
  const minutes = Number(values.minutes);
  const sessions = Number(values.sessions);
  const intervalS = Number(values.interval);
  if (!(minutes > 0)) throw new Error('--minutes must be a number above 0');
  if (!Number.isInteger(sessions) || sessions < 1) throw new Error('--sessions must be a whole number above 0');
  if (!(intervalS >= 5)) throw new Error('--interval must be at least 5 seconds');
  const loadAverageBefore = loadavg()[0]!;
  const children: ChildServer<unknown>[] = [];
  const dispatcher = new Agent({ connections: 64 });
  try {
    const nodes = Math.ceil(sessions / SESSIONS_PER_GUEST);
    const sim = await startSimulatorChild(nodes, false);
    children.push(sim);
    // Twice the sessions: while one ends, its slot's next may already be on its way.
    const gateway = await startGatewayChild(sim.info.caPem, manySessionsSettings(2 * sessions), ['--expose-gc']);
    children.push(gateway);
    const atStart = await gateway.usage(true);
    const started = Date.now();
    const deadline = started + minutes * 60_000;
    const counts: Counts = { slotsUp: 0, linksMade: 0, consolesOpened: 0, sessionsEnded: 0, keysTyped: 0, holding: 0, failures: 0 };
    process.stdout.write(
      `proxmoxvnc soak benchmark: Node ${process.version}, 1-minute load average before the run ${loadAverageBefore.toFixed(2)}; ` +
        `${sessions} sessions for ${minutes} min, readings every ${intervalS} s (the gateway's resident memory, and JS heap less compiled code, after a full GC)\n` +
        `each session: a link, its console held ${HOLD_MIN_MS / 1000}-${HOLD_MAX_MS / 1000} s typing a key every ~${TYPE_EVERY_MS / 1000} s, closed, reopened, closed, ended by the backend; then a new link\n\n`,
    );
    const slots = Array.from({ length: sessions }, async (_, i) => {
      await sleep((i * Math.min(RAMP_MS, minutes * 60_000)) / sessions);
      await runSlot(gateway.info, sim.info, extraNodeGuest(i % nodes), dispatcher, counts, deadline);
    });
    const readings: Reading[] = [];
    const header = ['minute', 'consoles open', 'opened so far', 'failures', 'gateway CPU', 'simulator CPU', 'resident MB', 'V8 heap committed MB', 'JS heap MB', 'external MB'];
    process.stdout.write(`${header.join('\t')}\n`);
    let previous = { at: Date.now(), gateway: await gateway.cpuMicros(), simulator: await sim.cpuMicros() };
    // Every reading is taken while the sessions run: at the deadline they all close at once.
    for (let at = started + intervalS * 1000; at < deadline; at += intervalS * 1000) {
      await sleep(Math.max(0, at - Date.now()));
      const simulatorMicros = await sim.cpuMicros();
      const usage = await gateway.usage(true);
      const now = Date.now();
      const reading: Reading = {
        minute: (now - started) / 60_000,
        gatewayCpu: (usage.cpuMicros - previous.gateway) / 1000 / (now - previous.at),
        simulatorCpu: (simulatorMicros - previous.simulator) / 1000 / (now - previous.at),
        rssBytes: usage.memory.rss,
        heapCommittedBytes: usage.memory.heapTotal,
        outsideHeapBytes: usage.memory.rss - usage.memory.heapTotal,
        heapBytes: usage.memory.heapUsed - usage.heapCodeBytes,
        externalBytes: usage.memory.external,
        holding: counts.holding,
        consolesOpened: counts.consolesOpened,
        failures: counts.failures,
        rampDone: counts.slotsUp === sessions,
      };
      previous = { at: now, gateway: usage.cpuMicros, simulator: simulatorMicros };
      readings.push(reading);
      const cells = [reading.minute.toFixed(1), reading.holding, reading.consolesOpened, reading.failures, percent(reading.gatewayCpu), percent(reading.simulatorCpu), mb(reading.rssBytes), mb(reading.heapCommittedBytes), mb(reading.heapBytes), mb(reading.externalBytes)];
      process.stdout.write(`${cells.join('\t')}\n`);
    }
    await Promise.all(slots);
    // The last sockets' teardown finishes before the final reading.
    await sleep(3_000);
    const ended = await gateway.usage(true);

    const firstFull = readings.findIndex((r) => r.rampDone);
    const settled = readings.filter((r, i) => r.minute * 60_000 > RAMP_MS && firstFull !== -1 && i >= firstFull);
    const verdict = (field: 'rssBytes' | 'heapCommittedBytes' | 'outsideHeapBytes' | 'heapBytes' | 'externalBytes') => {
      if (settled.length < 3) return ['n/a', 'n/a', 'too few readings after the ramp (run longer, or shorten --interval)'];
      const { slope, standardError } = fit(settled.map((r) => ({ x: r.minute, y: r[field] })));
      const mean = settled.reduce((sum, r) => sum + r[field], 0) / settled.length;
      const limit = mean * FLAT_SHARE_PER_MINUTE;
      const opened = settled.at(-1)!.consolesOpened - settled[0]!.consolesOpened;
      const perMinuteOpened = opened / (settled.at(-1)!.minute - settled[0]!.minute);
      const judged = Math.abs(slope) + 2 * standardError < limit ? 'flat' : Math.abs(slope) - 2 * standardError > limit ? 'NOT flat' : 'inconclusive (too short or too noisy a run)';
      return [
        `${slope >= 0 ? '+' : ''}${mb(slope)} ± ${mb(2 * standardError)} MB/min (${(slope / perMinuteOpened).toFixed(0)} bytes per console opened)`,
        `under ${mb(limit)} MB/min`,
        judged,
      ];
    };
    const ramp = firstFull === -1 ? 'never all open at once: no slope (failures or an overloaded machine)' : `all ${sessions} open by minute ${readings[firstFull]!.minute.toFixed(1)}`;
    process.stdout.write(
      [
        '',
        `ramp: ${ramp}`,
        table([
          [`slope over the ${settled.length} readings after the first minute and the ramp (±2 standard errors)`, 'value', `threshold (${(FLAT_SHARE_PER_MINUTE * 100).toFixed(1)}% of the mean a minute)`, 'verdict'],
          ['  JS heap', ...verdict('heapBytes')],
          ['  resident memory', ...verdict('rssBytes')],
          ['  V8 heap committed', ...verdict('heapCommittedBytes')],
          ['  resident outside the V8 heap', ...verdict('outsideHeapBytes')],
          ['  external (Buffers)', ...verdict('externalBytes')],
        ]),
        '',
        `links made ${counts.linksMade}, consoles opened ${counts.consolesOpened}, sessions ended ${counts.sessionsEnded}, keys typed ${counts.keysTyped}, failures ${counts.failures}${counts.firstFailure ? ` (first: ${counts.firstFailure})` : ''}`,
        `before the first session: resident ${mb(atStart.memory.rss)} MB, JS heap ${mb(atStart.memory.heapUsed - atStart.heapCodeBytes)} MB; once every session had ended: resident ${mb(ended.memory.rss)} MB, JS heap ${mb(ended.memory.heapUsed - ended.heapCodeBytes)} MB`,
        `1-minute load average now ${loadavg()[0]!.toFixed(2)}`,
      ].join('\n') + '\n',
    );
  } finally {
    await dispatcher.close();
    for (const child of children.reverse()) await child.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
