import { ApiError } from '../http/errors.js';
import { nodeParam, vmidParam } from '../http/params.js';
import { vmPath, type Route, type RouteCall } from '../http/route.js';
import { createHash } from 'node:crypto';
import { SERIAL_PORTS, serialConfig, type InventoryGuest } from '../inventory.js';
import type { SimState } from '../state.js';
import { isPaused } from './power.js';

export type GuestType = 'qemu' | 'lxc';

/** Where Proxmox keeps a guest's configuration; its absence is the "no such guest" error. */
function configFile(node: string, type: GuestType, vmid: number): string {
  return `nodes/${node}/${type === 'qemu' ? 'qemu-server' : 'lxc'}/${vmid}.conf`;
}

/** The guest the route's node/type/vmid name, or 500 as Proxmox answers for a missing config file. */
export function guestAt(state: SimState, node: string, type: GuestType, vmid: number): InventoryGuest {
  const guest = state.inventory.guests.find((g) => g.vmid === vmid && g.type === type && g.node === node);
  if (!guest) throw new ApiError(500, `Configuration file '${configFile(node, type, vmid)}' does not exist\n`);
  return guest;
}

export function routeGuest(call: RouteCall, type: GuestType): InventoryGuest {
  return guestAt(call.state, String(call.params.node), type, Number(call.params.vmid));
}

/** Stable made-up statistics, so answers look like Proxmox's without pretending to measure anything. */
function statistics(guest: InventoryGuest): Record<string, number> {
  const running = guest.status === 'running';
  return {
    maxmem: 2 * 1024 ** 3,
    mem: running ? 512 * 1024 ** 2 : 0,
    maxdisk: 32 * 1024 ** 3,
    disk: 0,
    maxcpu: 2,
    cpu: running ? 0.01 : 0,
    uptime: running ? 3600 : 0,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
  };
}

function statusCurrent(guest: InventoryGuest, paused: boolean): Record<string, unknown> {
  const common = { vmid: guest.vmid, name: guest.name, status: guest.status, template: guest.template ? 1 : 0, ...statistics(guest) };
  if (guest.type === 'lxc') return { ...common, type: 'lxc' };
  // A suspended VM still counts as running; only QEMU's own status says it is paused.
  return { ...common, qmpstatus: guest.status !== 'running' ? 'stopped' : paused ? 'paused' : 'running', agent: 0 };
}

function statusRoute(type: GuestType): Route {
  return {
    name: `${type}.status`,
    method: 'GET',
    path: new RegExp(`^/nodes/(?<node>[^/]+)/${type}/(?<vmid>[^/]+)/status/current$`),
    authenticated: true,
    permission: (p) => ({ path: vmPath(p), privilege: 'VM.Audit' }),
    params: { node: nodeParam, vmid: vmidParam },
    handle: (call) => {
      const guest = routeGuest(call, type);
      return statusCurrent(guest, isPaused(call.state, guest.vmid));
    },
  };
}

/** One /cluster/resources entry; with status unknown the cluster has no name or statistics. */
export function resourceEntry(guest: InventoryGuest): Record<string, unknown> {
  const base = { id: `${guest.type}/${guest.vmid}`, type: guest.type, vmid: guest.vmid, node: guest.node, status: guest.status };
  if (guest.status === 'unknown') return base;
  return { ...base, name: guest.name, template: guest.template ? 1 : 0, ...statistics(guest) };
}

/**
 * A VM's configuration as `GET .../qemu/<vmid>/config` answers it (qemu-server API2/Qemu.pm
 * `vm_config`, permission VM.Audit): the options of its config file, and a `digest` of the file.
 * `vga` and the serial ports are the guest's; the rest is a plausible constant.
 */
function vmConfig(guest: InventoryGuest): Record<string, string | number> {
  const config: Record<string, string | number> = {
    name: guest.name,
    memory: '2048',
    cores: 2,
    ostype: 'l26',
    boot: 'order=scsi0',
    scsi0: `local-lvm:vm-${guest.vmid}-disk-0,size=32G`,
    net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
  };
  if (guest.display !== undefined) config.vga = guest.display;
  for (const port of SERIAL_PORTS) {
    const value = serialConfig(guest, port);
    if (value !== undefined) config[port] = value;
  }
  const file = Object.entries(config).map(([key, value]) => `${key}: ${value}\n`).join('');
  return { ...config, digest: createHash('sha1').update(file).digest('hex') };
}

const vmConfigRoute: Route = {
  name: 'qemu.config',
  method: 'GET',
  path: /^\/nodes\/(?<node>[^/]+)\/qemu\/(?<vmid>[^/]+)\/config$/,
  authenticated: true,
  permission: (p) => ({ path: vmPath(p), privilege: 'VM.Audit' }),
  params: { node: nodeParam, vmid: vmidParam, current: { type: 'boolean', optional: true }, snapshot: { type: 'string', optional: true, maxLength: 40 } },
  handle: (call) => vmConfig(routeGuest(call, 'qemu')),
};

export const guestRoutes: Route[] = [statusRoute('qemu'), statusRoute('lxc'), vmConfigRoute];
