// Figures and the printed table.
import { cpus } from 'node:os';
import { PROCESSES, REQUESTS_IN_FLIGHT, type CpuSample, type ThroughputRun } from './measure.js';

/** Nearest-rank percentile (0 < p <= 100) of unsorted values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('no values');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The middle value, or the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface BenchResults {
  /** One per run, in the order measured. */
  throughput: { direct: ThroughputRun[]; gateway: ThroughputRun[] };
  /** Round-trip samples in milliseconds. */
  roundTrip: { direct: number[]; gateway: number[] };
  settings: { warmupMs: number; measureMs: number; roundTrips: number; loadAverageBefore: number };
}

export const TARGET_THROUGHPUT_RATIO = 0.9;
export const TARGET_ADDED_MEDIAN_MS = 0.1;
export const TARGET_ADDED_P99_MS = 1;

const mbps = (bytesPerSecond: number) => (bytesPerSecond / 1e6).toFixed(1);
const ms = (value: number) => value.toFixed(3);
const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')).join('\n');
}

export function formatReport(results: BenchResults): string {
  const { roundTrip, settings } = results;
  const throughput = {
    direct: results.throughput.direct.map((run) => run.bytesPerSecond),
    gateway: results.throughput.gateway.map((run) => run.bytesPerSecond),
  };
  const directMbps = median(throughput.direct);
  const gatewayMbps = median(throughput.gateway);
  // Each gateway run is paired with the direct run just before it, so the pair saw the same noise.
  const pairedRatios = throughput.direct.map((direct, i) => throughput.gateway[i]! / direct);
  const ratio = median(pairedRatios);
  const directMedian = median(roundTrip.direct);
  const gatewayMedian = median(roundTrip.gateway);
  const added = gatewayMedian - directMedian;
  const addedP99 = percentile(roundTrip.gateway, 99) - percentile(roundTrip.direct, 99);

  const throughputRows = [
    ['relay throughput toward the browser (MB/s)', 'direct', 'gateway', 'ratio'],
    ...throughput.direct.map((direct, i) => [`  run ${i + 1}`, mbps(direct), mbps(throughput.gateway[i]!), percent(pairedRatios[i]!)]),
    ['  median', mbps(directMbps), mbps(gatewayMbps), percent(ratio)],
  ];
  const total = (sample: CpuSample) => PROCESSES.reduce((sum, p) => sum + sample[p], 0);
  const cpuCell = (runs: ThroughputRun[], msPerMB: (r: ThroughputRun) => number, share: (r: ThroughputRun) => number) =>
    `${median(runs.map(msPerMB)).toFixed(2)} (${percent(median(runs.map(share)))})`;
  const cpuRows = [
    ['CPU per MB delivered, ms (share of one core)', ...PROCESSES, 'total'],
    ...(['direct', 'gateway'] as const).map((path) => {
      const runs = results.throughput[path];
      return [
        `  ${path}`,
        ...PROCESSES.map((p) => cpuCell(runs, (r) => r.cpuMsPerMB[p], (r) => r.coreShare[p])),
        cpuCell(runs, (r) => total(r.cpuMsPerMB), (r) => total(r.coreShare)),
      ];
    }),
  ];
  const roundTripRows = [
    [`round trip of a small message (ms, n=${settings.roundTrips})`, 'median', 'p99'],
    ['  direct', ms(directMedian), ms(percentile(roundTrip.direct, 99))],
    ['  gateway', ms(gatewayMedian), ms(percentile(roundTrip.gateway, 99))],
    ['  added by the gateway', ms(added), ms(addedP99)],
  ];
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const cpu = cpus();
  return [
    `proxmoxvnc relay benchmark: Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${process.platform}/${process.arch}, ` +
      `1-minute load average before the run ${settings.loadAverageBefore.toFixed(2)}`,
    'simulator (bulk full-screen raw updates, clipboard echo) and gateway each in their own process; clients in this one',
    `throughput: ${results.throughput.direct[0]?.screen ?? '?'} full-screen updates, 32 bpp raw, ${REQUESTS_IN_FLIGHT} requests in flight, ${settings.warmupMs} ms warm-up then ${settings.measureMs} ms per run, direct and gateway alternating; ratio: median of the runs' ratios`,
    'round trip: ClientCutText "ping" echoed as ServerCutText, one idle connection per path, pinged in alternating blocks',
    '',
    table(throughputRows),
    '',
    table(cpuRows),
    '',
    table(roundTripRows),
    '',
    'targets (DESIGN.md section 10):',
    `  throughput at least ${percent(TARGET_THROUGHPUT_RATIO)} of direct: ${met(ratio >= TARGET_THROUGHPUT_RATIO)} (${percent(ratio)})`,
    `  added round trip under ${TARGET_ADDED_MEDIAN_MS} ms median: ${met(added < TARGET_ADDED_MEDIAN_MS)} (${ms(added)} ms)`,
    `  added round trip under ${TARGET_ADDED_P99_MS} ms p99: ${met(addedP99 < TARGET_ADDED_P99_MS)} (${ms(addedP99)} ms)`,
  ].join('\n');
}
