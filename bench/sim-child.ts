// The simulator in its own process, streaming full screens as fast as the socket takes them (unless
// told to send only what changed); beside it the same console server on its own, for websockify to
// stand in front of.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinVncSocketPath } from '../sim/consoles/builtin-backend.js';
import { createConsoleBackend, type GuestInfo } from '../sim/consoles/index.js';
import { startSimulator } from '../sim/index.js';
import { defaultInventory, type Inventory } from '../sim/inventory.js';
import { serveInChild } from './child.js';
import { extraNodeGuest } from './consoles.js';

export interface SimChildInfo {
  host: string;
  port: number;
  caPem: string;
  /** The standalone console server: its unix socket and its VNC password. */
  console: { socketPath: string; password: string };
}

export interface SimChildOptions {
  host: string;
  /** Nodes pve3, pve4, ... added to the default inventory, each with one running VM (vmid 1000, 1001, ...). */
  extraNodes?: number;
  /** Whole screens on every update request (default), or consoles that send what changed, as a guest's do. */
  bulk?: boolean;
}

function benchInventory(extraNodes: number): Inventory {
  const inventory = defaultInventory();
  for (let i = 0; i < extraNodes; i++) {
    const { node, vmid } = extraNodeGuest(i);
    inventory.nodes.push(node);
    inventory.guests.push({ ...inventory.guests[0]!, vmid, name: `bench${i}`, node });
  }
  return inventory;
}

const BENCH_GUEST: GuestInfo = { vmid: 100, type: 'qemu', name: 'web01', node: 'pve1' };
/** The standalone console's password outlives the whole run. */
const PASSWORD_LIFETIME_MS = 24 * 3600 * 1000;

serveInChild<SimChildOptions, SimChildInfo>(async ({ host, extraNodes = 0, bulk = true }) => {
  const sim = await startSimulator({ host, port: 0, backend: 'builtin', inventory: benchInventory(extraNodes), faults: { bulk, echoClipboard: true } });
  const workDir = await mkdtemp(join(tmpdir(), 'pvnc-bench-'));
  const backend = createConsoleBackend({ kind: 'builtin', bulk: true, echoClipboard: true, passwordExpiryMs: PASSWORD_LIFETIME_MS, workDir });
  const password = randomBytes(6).toString('base64url');
  await backend.setVncPassword(BENCH_GUEST, password);
  return {
    info: { host: sim.host, port: sim.port, caPem: sim.caPem, console: { socketPath: builtinVncSocketPath(workDir, BENCH_GUEST.vmid), password } },
    async stop() {
      await backend.stop();
      await rm(workDir, { recursive: true, force: true });
      await sim.stop();
    },
  };
});
