// The two measurements, on console connections that are open and past their handshake.
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchRfbConnection } from './rfb-connection.js';

/** Update requests kept in flight, so the server never waits for the client's next request. */
export const REQUESTS_IN_FLIGHT = 2;
const PING = 'ping';

/** The relay is the gateway or websockify, whichever the path goes through (idle on the direct path). */
export const PROCESSES = ['simulator', 'relay', 'client'] as const;
/** CPU microseconds (user + system) used so far by each process taking part. */
export type CpuSample = Record<(typeof PROCESSES)[number], number>;

export interface ThroughputRun {
  bytesPerSecond: number;
  /** Of each full-screen update, e.g. "800x600". */
  screen: string;
  /** Each process's CPU time over the window, per MB delivered. */
  cpuMsPerMB: CpuSample;
  /** Each process's CPU time over the window, as a share of one core (1 = a whole core). */
  coreShare: CpuSample;
}

/** Bytes per second toward the client over `measureMs`, after `warmupMs` of the same load. */
export async function measureThroughput(connection: BenchRfbConnection, cpu: () => Promise<CpuSample>, warmupMs: number, measureMs: number): Promise<ThroughputRun> {
  connection.onUpdate = () => connection.requestScreen();
  for (let i = 0; i < REQUESTS_IN_FLIGHT; i++) connection.requestScreen();
  const window = async (): Promise<ThroughputRun> => {
    await sleep(warmupMs);
    const startCpu = await cpu();
    const startBytes = connection.bytesReceived;
    const startMs = performance.now();
    await sleep(measureMs);
    const bytes = connection.bytesReceived - startBytes;
    const elapsedMs = performance.now() - startMs;
    const endCpu = await cpu();
    const per = (divisor: number) => Object.fromEntries(PROCESSES.map((p) => [p, (endCpu[p] - startCpu[p]) / divisor])) as CpuSample;
    return { bytesPerSecond: (bytes * 1000) / elapsedMs, screen: `${connection.width}x${connection.height}`, cpuMsPerMB: per(bytes / 1000), coreShare: per(elapsedMs * 1000) };
  };
  try {
    return await Promise.race([window(), connection.failed]);
  } finally {
    connection.onUpdate = () => {};
  }
}

/** Milliseconds from sending a small ClientCutText to receiving its echo, `count` times, one at a time. */
export async function measureRoundTrips(connection: BenchRfbConnection, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const sentAt = performance.now();
    const echoed = await connection.cutTextRoundTrip(PING);
    samples.push(performance.now() - sentAt);
    if (echoed !== PING) throw new Error(`expected the echo of "${PING}", got ${JSON.stringify(echoed)}`);
  }
  return samples;
}
