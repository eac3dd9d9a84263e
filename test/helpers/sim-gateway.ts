// The pair most gateway tests share: a simulated cluster on 127.0.0.2 and one in-process gateway
// trusting its CA, started once for the describe (or file) that calls useSimAndGateway.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../sim/index.js';
import { createToken, startTestGateway, type TestGateway } from './gateway.js';

/**
 * The gateway's settings, or a function giving them: it is called after the simulator started and
 * after the caller's earlier `before` hooks, for settings only known then (a free port range, a
 * webhook receiver's URL, a fresh directory).
 */
export type GatewayEnv = Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);

export interface SimAndGateway {
  /** The simulator and the gateway exist only once the `before` hook ran: read them in tests and later hooks. */
  readonly sim: Simulator;
  readonly tg: TestGateway;
  /** /create fields for guest 100 with password login, as strings (as a form sends them); a fresh object each read, so one test's changes stay its own. */
  readonly params: Record<string, string>;
  /** A console link for `params` with `extra` on top; a /create answer other than 200 fails the test. */
  link(extra?: Record<string, unknown>): Promise<string>;
}

/**
 * Registers the `before` and `after` hooks in the calling describe. `simOptions` go on top of the
 * address, so each caller keeps its own backend, release, inventory and durations.
 */
export function useSimAndGateway(gatewayEnv: GatewayEnv = {}, simOptions: SimulatorOptions = {}): SimAndGateway {
  let sim: Simulator | undefined;
  let tg: TestGateway | undefined;
  before(async () => {
    sim = await startSimulator({ host: '127.0.0.2', port: 0, ...simOptions });
    tg = await startTestGateway(typeof gatewayEnv === 'function' ? await gatewayEnv() : gatewayEnv, sim.caPem);
  });
  // The gateway first: its sessions still hold connections to the simulator.
  after(async () => {
    await tg?.stop();
    await sim?.stop();
  });

  // Read before the hook ran (at describe time, say), they would be undefined far from the mistake.
  const started = <T>(value: T | undefined, name: string): T => {
    if (value === undefined) throw new Error(`useSimAndGateway: ${name} is read before its before hook ran`);
    return value;
  };
  const params = (): Record<string, string> => ({
    hostname: '127.0.0.2',
    port: String(started(sim, 'sim').port),
    node: 'pve1',
    username: 'vncuser@pve',
    password: 'vncpass',
    vmid: '100',
  });
  return {
    get sim() {
      return started(sim, 'sim');
    },
    get tg() {
      return started(tg, 'tg');
    },
    get params() {
      return params();
    },
    async link(extra = {}) {
      const created = await createToken(started(tg, 'tg'), { ...params(), ...extra });
      assert.equal(created.statusCode, 200, JSON.stringify(created.body));
      return created.body.url as string;
    },
  };
}
