// The simulator in its own process, streaming full screens as fast as the socket takes them.
import { startSimulator } from '../sim/index.js';
import { serveInChild } from './child.js';

export interface SimChildInfo {
  host: string;
  port: number;
  caPem: string;
}

serveInChild<{ host: string }, SimChildInfo>(async ({ host }) => {
  const sim = await startSimulator({ host, port: 0, backend: 'builtin', faults: { bulk: true, echoClipboard: true } });
  return { info: { host: sim.host, port: sim.port, caPem: sim.caPem }, stop: () => sim.stop() };
});
