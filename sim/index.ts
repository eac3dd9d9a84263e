import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { TicketAuthority } from './auth/tickets.js';
import { createConsoleBackend, type QemuProcessInfo } from './consoles/index.js';
import { KeyLogs } from './consoles/key-log.js';
import { TextConsoles, type TerminalSnapshot } from './consoles/terminal/index.js';
import { watchGuests } from './guest-watch.js';
import { createApiServer } from './http/server.js';
import { defaultInventory, loadInventoryFile, parseInventory, type Inventory } from './inventory.js';
import { apiRoutes } from './routes/index.js';
import { defaultDurations, defaultFaults, type Durations, type Faults, type Release } from './settings.js';
import type { SimState } from './state.js';
import { generateClusterTls, givenTls, type TlsMaterial } from './tls.js';
import { ListenerTable } from './vnc/listeners.js';

export type { Inventory, InventoryGuest, InventoryUser, InventoryToken, AclEntry } from './inventory.js';
export type { Durations, Faults, Release, RouteFailure, Unreachable } from './settings.js';
export type { QemuProcessInfo } from './consoles/index.js';
export type { TerminalSnapshot } from './consoles/terminal/index.js';
export { defaultInventory, parseInventory, loadInventoryFile } from './inventory.js';
export { defaultDurations, defaultFaults } from './settings.js';

export interface SimulatorOptions {
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Listen port; default 0 (a free port). */
  port?: number;
  /** The inventory object, or the path of a JSON inventory file; default defaultInventory(). */
  inventory?: Inventory | string;
  /** Default: the inventory's `release`, else 'current'. */
  release?: Release;
  backend?: 'builtin' | 'qemu';
  /** Serve these (PEM files) instead of a generated cluster CA and node certificate. */
  certFile?: string;
  keyFile?: string;
  /** Override the inventory's durations, which override Proxmox's. */
  durations?: Partial<Durations>;
  faults?: Partial<Faults>;
}

export interface Simulator {
  /** https://host:port (origin, without /api2/json). */
  url: string;
  host: string;
  port: number;
  /** What clients trust: the cluster CA (also in vncproxy's `cert`), or the given certificate. */
  caPem: string;
  /** The node certificate's SHA-256, colon-separated upper-case hex. */
  fingerprint: string;
  /** Live: edits (e.g. a guest's status) take effect at once. */
  inventory: Inventory;
  setFaults(f: Partial<Faults>): void;
  /** Keys a guest's VNC console received (QEMU, builtin or vncterm). */
  received(vmid: number): { keysyms: number[]; text: string };
  /** What a guest's text consoles (termproxy, vncterm) received, and the text last shown. */
  terminal(vmid: number): TerminalSnapshot;
  stats(): { vncproxyCalls: number; termproxyCalls: number; openWebsockets: number; logins: number };
  /** Every login ticket, CSRF token, VNC or termproxy ticket and VNC password issued so far. */
  issuedSecrets(): string[];
  /** The QEMU serving a VM's console, confirmed over QMP (backend 'qemu' only; rejects otherwise). */
  qemuProcess(vmid: number): Promise<QemuProcessInfo>;
  stop(): Promise<void>;
}

async function resolveInventory(given: SimulatorOptions['inventory']): Promise<Inventory> {
  if (given === undefined) return defaultInventory();
  return typeof given === 'string' ? loadInventoryFile(given) : parseInventory(given);
}

async function resolveTls(opts: SimulatorOptions, host: string, inventory: Inventory): Promise<TlsMaterial> {
  if (opts.certFile === undefined && opts.keyFile === undefined) return generateClusterTls(host, inventory.nodes[0]!);
  if (opts.certFile === undefined || opts.keyFile === undefined) throw new Error('certFile and keyFile must be given together');
  return givenTls(await readFile(opts.certFile, 'utf8'), await readFile(opts.keyFile, 'utf8'));
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const host = opts.host ?? '127.0.0.1';
  const inventory = await resolveInventory(opts.inventory);
  const durations: Durations = { ...defaultDurations, ...inventory.durations, ...opts.durations };
  const faults: Faults = { ...defaultFaults, ...inventory.faults, ...opts.faults };
  const tls = await resolveTls(opts, host, inventory);
  const workDir = await mkdtemp(join(tmpdir(), 'proxmoxvnc-sim-'));
  const keyLogs = new KeyLogs();
  const terminals = new TextConsoles({ workDir, keyLogs });
  const backend = createConsoleBackend({
    keyLogs,
    kind: opts.backend ?? 'builtin',
    passwordExpiryMs: durations.passwordExpiryMs,
    workDir,
    bulk: faults.bulk,
    echoClipboard: faults.echoClipboard,
  });
  const guestWatch = watchGuests(inventory, async (vmid) => {
    await Promise.all([backend.stopGuest(vmid), terminals.stopGuest(vmid)]);
  });
  const state: SimState = {
    guestWatch,
    inventory,
    release: opts.release ?? inventory.release ?? 'current',
    durations,
    faults,
    authority: new TicketAuthority(),
    backend,
    terminals,
    listeners: new ListenerTable(),
    caPem: tls.caPem,
    counters: { vncproxyCalls: 0, termproxyCalls: 0, logins: 0 },
    issuedSecrets: new Set(),
    takenSockets: new Set(),
    openWebsockets: 0,
  };
  const server = createApiServer(state, apiRoutes, tls);
  try {
    server.listen(opts.port ?? 0, host);
    await once(server, 'listening');
  } catch (err) {
    guestWatch.stop();
    await Promise.all([backend.stop(), terminals.stop()]);
    await rm(workDir, { recursive: true, force: true });
    throw err;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);

  let stopping: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    guestWatch.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of state.takenSockets) socket.destroy();
    await state.listeners.closeAll();
    await Promise.all([backend.stop(), terminals.stop()]);
    await closed;
    await rm(workDir, { recursive: true, force: true });
  };

  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    caPem: tls.caPem,
    fingerprint: tls.fingerprint,
    inventory,
    setFaults(f) {
      state.faults = { ...state.faults, ...f };
    },
    received: (vmid) => backend.received(vmid),
    terminal: (vmid) => terminals.terminal(vmid),
    stats: () => ({ ...state.counters, openWebsockets: state.openWebsockets }),
    qemuProcess: (vmid) => backend.qemuProcess(vmid),
    issuedSecrets: () => [...state.issuedSecrets],
    stop: () => (stopping ??= stop()),
  };
}
