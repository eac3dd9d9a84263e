// `npm run bench`: relay throughput and small-message round trips, through the gateway and
// straight to the same simulated console, side by side in one run. Prints figures, asserts nothing.
import { loadavg } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicrosOfThisProcess, startInChild, type ChildServer } from './child.js';
import { directOpener, gatewayOpener, type ConsoleOpener } from './consoles.js';
import type { GatewayChildInfo } from './gateway-child.js';
import { measureRoundTrips, measureThroughput, type CpuSample, type ThroughputRun } from './measure.js';
import { formatReport, type BenchResults } from './report.js';
import { BenchRfbConnection } from './rfb-connection.js';
import type { SimChildInfo } from './sim-child.js';

const SIM_HOST = '127.0.0.2';
const GATEWAY_HOST = '127.0.0.1';
// Short windows, many alternations: on a busy machine both paths then see the same noise.
const THROUGHPUT_ROUNDS = 6;
const WARMUP_MS = 500;
const MEASURE_MS = 2_000;
const ROUND_TRIP_WARMUP = 200;
const ROUND_TRIP_BLOCKS = 8;
const ROUND_TRIPS_PER_BLOCK = 250;

/** The children's entry files beside this one: .js when built, .ts under a TypeScript loader. */
const sibling = (name: string) => new URL(`./${name}${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

async function openConnection(opener: ConsoleOpener): Promise<BenchRfbConnection> {
  return BenchRfbConnection.start(await opener.open());
}

async function throughputRun(opener: ConsoleOpener, cpu: () => Promise<CpuSample>): Promise<ThroughputRun> {
  const connection = await openConnection(opener);
  try {
    return await measureThroughput(connection, cpu, WARMUP_MS, MEASURE_MS);
  } finally {
    connection.close();
  }
}

/** One idle connection per path, pinged in alternating blocks. */
async function roundTrips(direct: ConsoleOpener, gateway: ConsoleOpener): Promise<BenchResults['roundTrip']> {
  // One after the other: a vncproxy call replaces the guest's VNC password, failing a handshake still running.
  const connections = { direct: await openConnection(direct), gateway: await openConnection(gateway) };
  const samples: BenchResults['roundTrip'] = { direct: [], gateway: [] };
  try {
    for (const path of ['direct', 'gateway'] as const) await measureRoundTrips(connections[path], ROUND_TRIP_WARMUP);
    for (let block = 0; block < ROUND_TRIP_BLOCKS; block++) {
      for (const path of ['direct', 'gateway'] as const) samples[path].push(...(await measureRoundTrips(connections[path], ROUND_TRIPS_PER_BLOCK)));
    }
    return samples;
  } finally {
    connections.direct.close();
    connections.gateway.close();
  }
}

async function measureSideBySide(direct: ConsoleOpener, gateway: ConsoleOpener, cpu: () => Promise<CpuSample>, loadAverageBefore: number): Promise<BenchResults> {
  const throughput: BenchResults['throughput'] = { direct: [], gateway: [] };
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    throughput.direct.push(await throughputRun(direct, cpu));
    throughput.gateway.push(await throughputRun(gateway, cpu));
  }
  return {
    throughput,
    roundTrip: await roundTrips(direct, gateway),
    settings: { warmupMs: WARMUP_MS, measureMs: MEASURE_MS, roundTrips: ROUND_TRIP_BLOCKS * ROUND_TRIPS_PER_BLOCK, loadAverageBefore },
  };
}

async function main(): Promise<void> {
  // Other work on the machine skews every figure: say how busy it was.
  const loadAverageBefore = loadavg()[0]!;
  const children: ChildServer<unknown>[] = [];
  const openers: ConsoleOpener[] = [];
  try {
    const sim = await startInChild<{ host: string }, SimChildInfo>(sibling('sim-child'), { host: SIM_HOST });
    children.push(sim);
    const gateway = await startInChild<{ host: string; proxmoxCaPem: string }, GatewayChildInfo>(sibling('gateway-child'), {
      host: GATEWAY_HOST,
      proxmoxCaPem: sim.info.caPem,
    });
    children.push(gateway);
    const direct = await directOpener(sim.info);
    openers.push(direct);
    const viaGateway = gatewayOpener(gateway.info, sim.info);
    openers.push(viaGateway);
    const cpu = async (): Promise<CpuSample> => {
      const [simulator, gatewayCpu] = await Promise.all([sim.cpuMicros(), gateway.cpuMicros()]);
      return { simulator, gateway: gatewayCpu, client: cpuMicrosOfThisProcess() };
    };
    process.stdout.write(`${formatReport(await measureSideBySide(direct, viaGateway, cpu, loadAverageBefore))}\n`);
  } finally {
    await Promise.all(openers.map((o) => o.close()));
    // The gateway first, so the simulator sees its consoles closed by a client, as in production.
    for (const child of children.reverse()) await child.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
