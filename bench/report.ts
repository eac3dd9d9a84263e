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

export type PathName = 'direct' | 'socat-floor' | 'node-floor' | 'gateway' | 'websockify';
/** In the order the table shows them; the relays are every path but direct. */
export const PATHS: readonly PathName[] = ['direct', 'socat-floor', 'node-floor', 'gateway', 'websockify'];

export interface BenchResults {
  /** Per path measured, one per run, in the order measured (runs of the paths alternate). */
  throughput: Partial<Record<PathName, ThroughputRun[]>>;
  /** Per path measured, round-trip samples in milliseconds. */
  roundTrip: Partial<Record<PathName, number[]>>;
  settings: { warmupMs: number; measureMs: number; roundTrips: number; loadAverageBefore: number };
}

export const TARGET_THROUGHPUT_RATIO = 0.9;
/** The gateway's CPU per MB over socat-floor's. */
export const TARGET_CPU_RATIO = 1;
/** Over node-floor's round trip. */
export const TARGET_ADDED_MEDIAN_MS = 0.03;
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
  const paths = PATHS.filter((path) => results.throughput[path]);
  const runs = (path: PathName) => measured(results.throughput, path);
  const bytesPerSecond = (path: PathName) => runs(path).map((run) => run.bytesPerSecond);
  const relayCpu = (path: PathName) => runs(path).map((run) => run.cpuMsPerMB.relay);
  // Each path's run is paired with the other's run of the same round, so the pair saw the same noise.
  const pairedRatio = (values: (path: PathName) => number[], path: PathName, to: PathName) => {
    const base = values(to);
    return median(values(path).map((value, i) => value / base[i]!));
  };
  const throughputRatio = (path: PathName) => pairedRatio(bytesPerSecond, path, 'direct');
  const cpuRatio = (path: PathName) => (results.throughput['socat-floor'] ? pairedRatio(relayCpu, path, 'socat-floor') : Number.NaN);
  const roundTrip = (path: PathName) => measured(results.roundTrip, path);
  const p99 = (values: number[]) => percentile(values, 99);
  const added = (path: PathName, over: PathName, stat: (values: number[]) => number) => stat(roundTrip(path)) - stat(roundTrip(over));
  const signed = (value: number) => `${value >= 0 ? '+' : ''}${ms(value)}`;
  const hasNodeFloor = results.roundTrip['node-floor'] !== undefined;

  const summaryRows = [
    [
      'path (one alternating run)',
      'MB/s',
      'of direct',
      'relay CPU ms/MB',
      'vs socat-floor',
      'p50 ms',
      'p99 ms',
      ...(hasNodeFloor ? ['p50 over node-floor', 'p99 over node-floor'] : []),
    ],
    ...paths.map((path) => {
      const relay = path !== 'direct';
      return [
        `  ${path}`,
        mbps(median(bytesPerSecond(path))),
        relay ? percent(throughputRatio(path)) : '',
        relay ? median(relayCpu(path)).toFixed(2) : '',
        relay && results.throughput['socat-floor'] ? `${cpuRatio(path).toFixed(2)}x` : '',
        ms(median(roundTrip(path))),
        ms(p99(roundTrip(path))),
        ...(hasNodeFloor ? (relay ? [signed(added(path, 'node-floor', median)), signed(added(path, 'node-floor', p99))] : ['', '']) : []),
      ];
    }),
  ];
  const throughputRows = [
    ['throughput toward the client per run (MB/s)', ...paths],
    ...runs('direct').map((_, i) => [`  run ${i + 1}`, ...paths.map((path) => mbps(bytesPerSecond(path)[i]!))]),
  ];
  const total = (sample: CpuSample) => PROCESSES.reduce((sum, p) => sum + sample[p], 0);
  const cpuCell = (of: ThroughputRun[], msPerMB: (r: ThroughputRun) => number, share: (r: ThroughputRun) => number) =>
    `${median(of.map(msPerMB)).toFixed(2)} (${percent(median(of.map(share)))})`;
  const cpuRows = [
    ['CPU per MB delivered, ms (share of one core), medians', ...PROCESSES, 'total'],
    ...paths.map((path) => [
      `  ${path}`,
      ...PROCESSES.map((p) => cpuCell(runs(path), (r) => r.cpuMsPerMB[p], (r) => r.coreShare[p])),
      cpuCell(runs(path), (r) => total(r.cpuMsPerMB), (r) => total(r.coreShare)),
    ]),
  ];
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const targets = [`  gateway throughput at least ${percent(TARGET_THROUGHPUT_RATIO)} of direct: ${met(throughputRatio('gateway') >= TARGET_THROUGHPUT_RATIO)} (${percent(throughputRatio('gateway'))})`];
  if (results.throughput['socat-floor']) {
    const ratio = cpuRatio('gateway');
    targets.push(`  gateway CPU per MB at most ${TARGET_CPU_RATIO.toFixed(1)}x socat-floor's: ${met(ratio <= TARGET_CPU_RATIO)} (${ratio.toFixed(2)}x)`);
  }
  if (hasNodeFloor) {
    const overMedian = added('gateway', 'node-floor', median);
    const overP99 = added('gateway', 'node-floor', p99);
    targets.push(
      `  round trip at most ${ms(TARGET_ADDED_MEDIAN_MS)} ms over node-floor's at the median: ${met(overMedian <= TARGET_ADDED_MEDIAN_MS)} (${signed(overMedian)} ms)`,
      `  round trip under ${ms(TARGET_ADDED_P99_MS)} ms over node-floor's at p99: ${met(overP99 < TARGET_ADDED_P99_MS)} (${signed(overP99)} ms)`,
    );
  }
  const cpu = cpus();
  return [
    `proxmoxvnc relay benchmark: Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model.trim() ?? 'unknown'}), ${process.platform}/${process.arch}, ` +
      `1-minute load average before the run ${settings.loadAverageBefore.toFixed(2)}`,
    'simulator (bulk full-screen raw updates, clipboard echo), each relay in its own process; clients in this one',
    "direct: the simulator's vncwebsocket over TLS; socat-floor and node-floor: plain TCP to a TLS pipe (socat with OpenSSL; Node's tls piped to net)",
    "  forwarding the simulator's websocket bytes verbatim; gateway: TLS to the simulator, plain ws to the client; websockify: plain ws in front of the same console server's unix socket",
    `throughput: ${runs('direct')[0]?.screen ?? '?'} full-screen updates, 32 bpp raw, ${REQUESTS_IN_FLIGHT} requests in flight, ${settings.warmupMs} ms warm-up then ${settings.measureMs} ms per run, the paths alternating`,
    "relay CPU: the relay process's (and its forks') user + system time over the window per MB delivered; ratios: median of the rounds' paired ratios",
    `round trip: ClientCutText "ping" echoed as ServerCutText, n=${settings.roundTrips} per path, one idle connection per path, pinged in alternating blocks`,
    '',
    table(summaryRows),
    '',
    table(throughputRows),
    '',
    table(cpuRows),
    '',
    'targets (DESIGN.md section 10):',
    ...targets,
  ].join('\n');
}
