import { ApiError } from '../http/errors.js';
import { nodeParam, vmidParam } from '../http/params.js';
import { vmPath, type Route, type RouteCall } from '../http/route.js';
import type { InventoryGuest } from '../inventory.js';
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

export const guestRoutes: Route[] = [statusRoute('qemu'), statusRoute('lxc')];
