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

export type PathName = 'direct' | 'gateway' | 'websockify';

export interface BenchResults {
  /** Per path measured, one per run, in the order measured (runs of the paths alternate). */
  throughput: Partial<Record<PathName, ThroughputRun[]>>;
  /** Per path measured, round-trip samples in milliseconds. */
  roundTrip: Partial<Record<PathName, number[]>>;
  settings: { warmupMs: number; measureMs: number; roundTrips: number; loadAverageBefore: number };
}

export const TARGET_THROUGHPUT_RATIO = 0.9;
export const TARGET_ADDED_MEDIAN_MS = 0.1;
export const TARGET_ADDED_P99_MS = 1;

const mbps = (bytesPerSecond: number) => (bytesPerSecond / 1e6).toFixed(1);
const ms = (value: number) => value.toFixed(3);
const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')).join('\n');
}

function measured<T>(of: Partial<Record<PathName, T>>, path: PathName): T {
  const value = of[path];
  if (value === undefined) throw new Error(`the ${path} path was not measured`);
  return value;
}

export function formatReport(results: BenchResults): string {
  const { settings } = results;
  const relays = (['gateway', 'websockify'] as const).filter((path) => results.throughput[path]);
  const paths: PathName[] = ['direct', ...relays];
  const bytesPerSecond = (path: PathName) => measured(results.throughput, path).map((run) => run.bytesPerSecond);
  const direct = bytesPerSecond('direct');
  // Each relay's run is paired with the direct run of the same round, so the pair saw the same noise.
  const pairedRatios = (path: PathName) => bytesPerSecond(path).map((value, i) => value / direct[i]!);
  const ratio = (path: PathName) => median(pairedRatios(path));
  const roundTrip = (path: PathName) => measured(results.roundTrip, path);
  const added = (path: PathName, stat: (values: number[]) => number) => stat(roundTrip(path)) - stat(roundTrip('direct'));
  const p99 = (values: number[]) => percentile(values, 99);

  const throughputRows = [
    ['relay throughput toward the browser (MB/s)', 'direct', ...relays.flatMap((path) => [path, 'ratio'])],
    ...direct.map((value, i) => [`  run ${i + 1}`, mbps(value), ...relays.flatMap((path) => [mbps(bytesPerSecond(path)[i]!), percent(pairedRatios(path)[i]!)])]),
    ['  median', mbps(median(direct)), ...relays.flatMap((path) => [mbps(median(bytesPerSecond(path))), percent(ratio(path))])],
  ];
  const total = (sample: CpuSample) => PROCESSES.reduce((sum, p) => sum + sample[p], 0);
  const cpuCell = (runs: ThroughputRun[], msPerMB: (r: ThroughputRun) => number, share: (r: ThroughputRun) => number) =>
    `${median(runs.map(msPerMB)).toFixed(2)} (${percent(median(runs.map(share)))})`;
  const cpuRows = [
    ['CPU per MB delivered, ms (share of one core)', ...PROCESSES, 'total'],
    ...paths.map((path) => {
      const runs = measured(results.throughput, path);
      return [
        `  ${path}`,
        ...PROCESSES.map((p) => cpuCell(runs, (r) => r.cpuMsPerMB[p], (r) => r.coreShare[p])),
        cpuCell(runs, (r) => total(r.cpuMsPerMB), (r) => total(r.coreShare)),
      ];
    }),
  ];
  const roundTripRows = [
    [`round trip of a small message (ms, n=${settings.roundTrips})`, 'median', 'p99'],
    ...paths.map((path) => [`  ${path}`, ms(median(roundTrip(path))), ms(p99(roundTrip(path)))]),
    ...relays.map((path) => [`  added by ${path === 'gateway' ? 'the gateway' : path}`, ms(added(path, median)), ms(added(path, p99))]),
  ];
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const gatewayRatio = ratio('gateway');
  const addedMedian = added('gateway', median);
  const addedP99 = added('gateway', p99);
  const cpu = cpus();
  return [
    `proxmoxvnc relay benchmark: Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${process.platform}/${process.arch}, ` +
      `1-minute load average before the run ${settings.loadAverageBefore.toFixed(2)}`,
    'simulator (bulk full-screen raw updates, clipboard echo), gateway and websockify each in their own process; clients in this one',
    'direct: the simulator\'s vncwebsocket over TLS; gateway: TLS to the simulator, plain ws to the client; websockify: plain ws in front of the same console server\'s unix socket',
    `throughput: ${measured(results.throughput, 'direct')[0]?.screen ?? '?'} full-screen updates, 32 bpp raw, ${REQUESTS_IN_FLIGHT} requests in flight, ${settings.warmupMs} ms warm-up then ${settings.measureMs} ms per run, the paths alternating; ratio: median of the runs' ratios to direct`,
    'round trip: ClientCutText "ping" echoed as ServerCutText, one idle connection per path, pinged in alternating blocks',
    '',
    table(throughputRows),
    '',
    table(cpuRows),
    '',
    table(roundTripRows),
    '',
    'targets (DESIGN.md section 10):',
    `  throughput at least ${percent(TARGET_THROUGHPUT_RATIO)} of direct: ${met(gatewayRatio >= TARGET_THROUGHPUT_RATIO)} (${percent(gatewayRatio)})`,
    `  added round trip under ${TARGET_ADDED_MEDIAN_MS} ms median: ${met(addedMedian < TARGET_ADDED_MEDIAN_MS)} (${ms(addedMedian)} ms)`,
    `  added round trip under ${TARGET_ADDED_P99_MS} ms p99: ${met(addedP99 < TARGET_ADDED_P99_MS)} (${ms(addedP99)} ms)`,
  ].join('\n');
}
