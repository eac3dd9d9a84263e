// `npm run bench`: relay throughput, relay CPU per MB and small-message round trips, through the
// gateway, straight to the same simulated console, through the two floors that only decrypt and
// forward (socat, a minimal Node pipe) and through websockify, side by side in one run. Prints
// figures, asserts nothing.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { cpuMicrosOfThisProcess, type ChildServer } from './child.js';
import { directOpener, gatewayOpener, websockifyOpener, type ConsoleOpener } from './consoles.js';
import { measureRoundTrips, measureThroughput, type CpuSample, type ThroughputRun } from './measure.js';
import { formatReport, type BenchResults, type PathName } from './report.js';
import { BenchRfbConnection } from './rfb-connection.js';
import { startGatewayChild, startNodeFloorChild, startSimulatorChild } from './servers.js';
import { startSocatFloor } from './socat-floor.js';
import { startWebsockify } from './websockify.js';

const WEBSOCKIFY_HOST = '127.0.0.3';
const SOCAT_HOST = '127.0.0.4';
const NODE_FLOOR_HOST = '127.0.0.5';
// Short windows, many alternations: on a busy machine both paths then see the same noise.
const DEFAULT_ROUNDS = 6;
const WARMUP_MS = 500;
const MEASURE_MS = 2_000;
const ROUND_TRIP_WARMUP = 200;
const ROUND_TRIP_BLOCKS = 8;
const ROUND_TRIPS_PER_BLOCK = 250;


async function openConnection(opener: ConsoleOpener): Promise<BenchRfbConnection> {
  return BenchRfbConnection.start(await opener.open());
}

interface BenchPath {
  name: PathName;
  opener: ConsoleOpener;
  cpu(): Promise<CpuSample>;
}

async function throughputRun(path: BenchPath): Promise<ThroughputRun> {
  const connection = await openConnection(path.opener);
  try {
    return await measureThroughput(connection, () => path.cpu(), WARMUP_MS, MEASURE_MS);
  } finally {
    connection.close();
  }
}

/** One idle connection per path, pinged in alternating blocks. */
async function roundTrips(paths: BenchPath[]): Promise<BenchResults['roundTrip']> {
  const connections: BenchRfbConnection[] = [];
  const samples: BenchResults['roundTrip'] = {};
  try {
    // One after the other: a vncproxy call replaces the guest's VNC password, failing a handshake still running.
    for (const path of paths) connections.push(await openConnection(path.opener));
    for (const connection of connections) await measureRoundTrips(connection, ROUND_TRIP_WARMUP);
    for (let block = 0; block < ROUND_TRIP_BLOCKS; block++) {
      for (const [i, path] of paths.entries()) (samples[path.name] ??= []).push(...(await measureRoundTrips(connections[i]!, ROUND_TRIPS_PER_BLOCK)));
    }
    return samples;
  } finally {
    for (const connection of connections) connection.close();
  }
}

async function measureSideBySide(paths: BenchPath[], rounds: number, loadAverageBefore: number): Promise<BenchResults> {
  const throughput: BenchResults['throughput'] = {};
  for (let round = 0; round < rounds; round++) {
    for (const path of paths) (throughput[path.name] ??= []).push(await throughputRun(path));
  }
  return {
    throughput,
    roundTrip: await roundTrips(paths),
    settings: { warmupMs: WARMUP_MS, measureMs: MEASURE_MS, roundTrips: ROUND_TRIP_BLOCKS * ROUND_TRIPS_PER_BLOCK, loadAverageBefore },
  };
}

/**
 * `--rounds N`: throughput rounds (default 6); `--gateway-node-options="..."`: e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the gateway under this load.
 */
function options(): { rounds: number; gatewayNodeOptions: string[] } {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: String(DEFAULT_ROUNDS) }, 'gateway-node-options': { type: 'string', default: '' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a whole number of at least 1');
  return { rounds, gatewayNodeOptions: values['gateway-node-options'].split(' ').filter(Boolean) };
}

async function main(): Promise<void> {
  const { rounds, gatewayNodeOptions } = options();
  // Other work on the machine skews every figure: say how busy it was.
  const loadAverageBefore = loadavg()[0]!;
  const children: ChildServer<unknown>[] = [];
  const openers: ConsoleOpener[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  try {
    const sim = await startSimulatorChild();
    children.push(sim);
    const gateway = await startGatewayChild(sim.info.caPem, {}, gatewayNodeOptions);
    children.push(gateway);
    const direct = await directOpener(sim.info);
    openers.push(direct);
    const viaGateway = gatewayOpener(gateway.info, sim.info);
    openers.push(viaGateway);
    const cpuWith = (relay: () => Promise<number>) => async (): Promise<CpuSample> => {
      const [simulator, relayCpu] = await Promise.all([sim.cpuMicros(), relay()]);
      return { simulator, relay: relayCpu, client: cpuMicrosOfThisProcess() };
    };
    const paths: BenchPath[] = [{ name: 'direct', opener: direct, cpu: cpuWith(() => gateway.cpuMicros()) }];
    const socat = await startSocatFloor(SOCAT_HOST, sim.info, sim.info.caPem);
    if (socat) {
      stoppers.push(() => socat.stop());
      const opener = await directOpener(sim.info, socat.origin);
      openers.push(opener);
      paths.push({ name: 'socat-floor', opener, cpu: cpuWith(async () => socat.cpuMicros()) });
    } else {
      process.stdout.write('socat is not installed (apt-get install socat): measuring without the socat floor\n');
    }
    const nodeFloor = await startNodeFloorChild(NODE_FLOOR_HOST, sim.info);
    children.push(nodeFloor);
    const viaNodeFloor = await directOpener(sim.info, nodeFloor.info.origin);
    openers.push(viaNodeFloor);
    paths.push(
      { name: 'node-floor', opener: viaNodeFloor, cpu: cpuWith(() => nodeFloor.cpuMicros()) },
      { name: 'gateway', opener: viaGateway, cpu: cpuWith(() => gateway.cpuMicros()) },
    );
    const websockify = await startWebsockify(WEBSOCKIFY_HOST, sim.info.console.socketPath);
    if (websockify) {
      stoppers.push(() => websockify.stop());
      paths.push({ name: 'websockify', opener: websockifyOpener(websockify.url, sim.info.console.password), cpu: cpuWith(async () => websockify.cpuMicros()) });
    } else {
      process.stdout.write('websockify is not installed (apt-get install websockify): measuring without it\n');
    }
    process.stdout.write(`${formatReport(await measureSideBySide(paths, rounds, loadAverageBefore))}\n`);
  } finally {
    for (const stop of stoppers) await stop();
    await Promise.all(openers.map((o) => o.close()));
    // The gateway first, so the simulator sees its consoles closed by a client, as in production.
    for (const child of children.reverse()) await child.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
