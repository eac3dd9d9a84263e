// The two measurements, each on one fresh console connection.
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchRfbConnection } from './rfb-connection.js';

/** Update requests kept in flight, so the server never waits for the client's next request. */
const REQUESTS_IN_FLIGHT = 2;
const PING = 'ping';

/** Bytes per second toward the client over `measureMs`, after `warmupMs` of the same load. */
export async function measureThroughput(connection: BenchRfbConnection, warmupMs: number, measureMs: number): Promise<number> {
  connection.onUpdate = () => connection.requestScreen();
  for (let i = 0; i < REQUESTS_IN_FLIGHT; i++) connection.requestScreen();
  const window = async () => {
    await sleep(warmupMs);
    const startBytes = connection.bytesReceived;
    const startMs = performance.now();
    await sleep(measureMs);
    return ((connection.bytesReceived - startBytes) * 1000) / (performance.now() - startMs);
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
