// `node dist/bench/recording.js`: what recording costs the relay. The same console through one
// gateway, with `record` and without, in alternating rounds: throughput and the gateway's CPU per
// MB delivered. Prints figures, asserts nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMicrosOfThisProcess } from './child.js';
import { gatewayOpener } from './consoles.js';
import { measureThroughput, type ThroughputRun } from './measure.js';
import { median, table } from './report.js';
import { BenchRfbConnection } from './rfb-connection.js';
import { startGatewayChild, startSimulatorChild } from './servers.js';

const ROUNDS = 5;
const WARMUP_MS = 500;
const MEASURE_MS = 2_000;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pvnc-bench-rec-'));
  const sim = await startSimulatorChild();
  // Large enough that no run reaches the cap; the bench deletes the folder afterwards.
  const gateway = await startGatewayChild(sim.info.caPem, { PROXMOXVNC_RECORDING_DIR: dir, PROXMOXVNC_RECORDING_MAX_BYTES: String(1024 ** 4) });
  const plain = gatewayOpener(gateway.info, sim.info);
  const recorded = gatewayOpener(gateway.info, sim.info, { node: 'pve1', vmid: 100, record: true });
  const runs: Record<'plain' | 'recorded', ThroughputRun[]> = { plain: [], recorded: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, opener] of [['plain', plain], ['recorded', recorded]] as const) {
        const connection = await BenchRfbConnection.start(await opener.open());
        try {
          const cpu = async () => ({ simulator: await sim.cpuMicros(), relay: await gateway.cpuMicros(), client: cpuMicrosOfThisProcess() });
          runs[name].push(await measureThroughput(connection, cpu, WARMUP_MS, MEASURE_MS));
        } finally {
          connection.close();
        }
      }
    }
    const row = (name: 'plain' | 'recorded') => [
      name,
      (median(runs[name].map((r) => r.bytesPerSecond)) / 1e6).toFixed(1),
      median(runs[name].map((r) => r.cpuMsPerMB.relay)).toFixed(2),
    ];
    const ratio = median(runs.recorded.map((r) => r.cpuMsPerMB.relay)) / median(runs.plain.map((r) => r.cpuMsPerMB.relay));
    process.stdout.write(`${table([['gateway', 'MB/s (median)', 'gateway CPU ms per MB (median)'], row('plain'), row('recorded')])}\n`);
    process.stdout.write(`recording costs ${ratio.toFixed(2)}x the gateway CPU per MB of not recording (${ROUNDS} rounds of ${MEASURE_MS} ms, screen ${runs.plain[0]?.screen ?? '?'})\n`);
  } finally {
    await plain.close();
    await recorded.close();
    await gateway.stop();
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
