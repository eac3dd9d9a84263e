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

/** `extraNodes`: nodes with one VM each beside the default inventory, for many sessions. */
export function startSimulatorChild(extraNodes = 0): Promise<ChildServer<SimChildInfo>> {
  return startInChild<SimChildOptions, SimChildInfo>(sibling('sim-child'), { host: SIM_HOST, extraNodes });
}

/** `env`: PROXMOXVNC_* settings over the defaults; `nodeOptions`: e.g. --expose-gc. */
export function startGatewayChild(proxmoxCaPem: string, env: Record<string, string> = {}, nodeOptions: string[] = []): Promise<ChildServer<GatewayChildInfo>> {
  return startInChild<GatewayChildOptions, GatewayChildInfo>(sibling('gateway-child'), { host: GATEWAY_HOST, proxmoxCaPem, env }, nodeOptions);
}

/** A minimal Node TLS pipe on `host` toward the simulator. */
export function startNodeFloorChild(host: string, sim: SimChildInfo): Promise<ChildServer<NodeFloorInfo>> {
  return startInChild<NodeFloorOptions, NodeFloorInfo>(sibling('node-floor'), { host, target: { host: sim.host, port: sim.port }, caPem: sim.caPem });
}
