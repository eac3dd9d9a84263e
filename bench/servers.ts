// The servers under measurement, each in a process of its own on its own loopback address.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startInChild, type ChildServer } from './child.js';
import type { GatewayChildInfo, GatewayChildOptions } from './gateway-child.js';
import type { NodeFloorInfo, NodeFloorOptions } from './node-floor.js';
import type { SimChildInfo, SimChildOptions } from './sim-child.js';

const SIM_HOST = '127.0.0.2';
const GATEWAY_HOST = '127.0.0.1';

/** The children's entry files beside this one: .js when built, .ts under a TypeScript loader. */
const sibling = (name: string) => new URL(`./${name}${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

/** `extraNodes`: nodes with one VM each beside the default inventory, for many sessions; `bulk`: whole screens on every update request. */
export function startSimulatorChild(extraNodes = 0, bulk = true): Promise<ChildServer<SimChildInfo>> {
  return startInChild<SimChildOptions, SimChildInfo>(sibling('sim-child'), { host: SIM_HOST, extraNodes, bulk });
}

/**
 * Gateway limits for up to `sessions` sessions and tokens at once, all from this one client
 * address, which nothing but a benchmark would send: the limits are not what is measured.
 */
export function manySessionsSettings(sessions: number): Record<string, string> {
  return {
    PROXMOXVNC_MAX_SESSIONS: String(sessions + 100),
    PROXMOXVNC_MAX_PENDING_TOKENS: String(sessions + 100),
    PROXMOXVNC_RATE_LIMIT_REDEMPTIONS: '1000000',
    PROXMOXVNC_RATE_LIMIT_AUTH_FAILURES: '1000000',
    PROXMOXVNC_MAX_CONNECTIONS: String(2 * sessions),
    PROXMOXVNC_MAX_CONNECTIONS_PER_ADDRESS: String(2 * sessions),
  };
}

/** `env`: PROXMOXVNC_* settings over the defaults; `nodeOptions`: e.g. --expose-gc. */
export function startGatewayChild(proxmoxCaPem: string, env: Record<string, string> = {}, nodeOptions: string[] = []): Promise<ChildServer<GatewayChildInfo>> {
  return startInChild<GatewayChildOptions, GatewayChildInfo>(sibling('gateway-child'), { host: GATEWAY_HOST, proxmoxCaPem, env }, nodeOptions);
}

/** A minimal Node TLS pipe on `host` toward the simulator. */
export function startNodeFloorChild(host: string, sim: SimChildInfo): Promise<ChildServer<NodeFloorInfo>> {
  return startInChild<NodeFloorOptions, NodeFloorInfo>(sibling('node-floor'), { host, target: { host: sim.host, port: sim.port }, caPem: sim.caPem });
}
