import { identityName } from '../auth/permissions.js';
import { ApiError } from '../http/errors.js';
import { nodeParam, vmidParam } from '../http/params.js';
import { vmPath, type Route, type RouteCall } from '../http/route.js';
import type { SimState } from '../state.js';
import { upid } from './console.js';
import { routeGuest, type GuestType } from './guests.js';

/** Proxmox's power routes per guest type (containers have no reset), and the task type each starts. */
const TASKS: Record<GuestType, Record<string, string>> = {
  qemu: { start: 'qmstart', stop: 'qmstop', shutdown: 'qmshutdown', reboot: 'qmreboot', reset: 'qmreset', suspend: 'qmsuspend', resume: 'qmresume' },
  lxc: { start: 'vzstart', stop: 'vzstop', shutdown: 'vzshutdown', reboot: 'vzreboot', suspend: 'vzsuspend', resume: 'vzresume' },
};

/** Guests suspended (QEMU's qmpstatus "paused", Proxmox's status still "running"), per simulator. */
const pausedGuests = new WeakMap<SimState, Set<number>>();

export function isPaused(state: SimState, vmid: number): boolean {
  return pausedGuests.get(state)?.has(vmid) ?? false;
}

function paused(state: SimState): Set<number> {
  let set = pausedGuests.get(state);
  if (!set) pausedGuests.set(state, (set = new Set()));
  return set;
}

/**
 * What the action does to the guest, done before the task id is answered (a real task runs on;
 * tests want the effect settled). A reboot or reset ends the guest's consoles and, with the
 * QEMU backend, its QEMU: the next console boots a fresh machine, as a reset guest does.
 */
async function apply(call: RouteCall, type: GuestType, action: string): Promise<void> {
  const guest = routeGuest(call, type);
  const { state } = call;
  const running = guest.status === 'running';
  if (action === 'start') {
    if (running) throw new ApiError(500, `VM ${guest.vmid} already running`);
    guest.status = 'running';
    return;
  }
  if (!running) throw new ApiError(500, `VM ${guest.vmid} not running`);
  switch (action) {
    case 'stop':
    case 'shutdown':
      guest.status = 'stopped';
      paused(state).delete(guest.vmid);
      // The guest watch ends its consoles at the next sync.
      await state.guestWatch.sync();
      return;
    case 'reboot':
    case 'reset':
      paused(state).delete(guest.vmid);
      await Promise.all([state.backend.stopGuest(guest.vmid), state.terminals.stopGuest(guest.vmid)]);
      return;
    case 'suspend':
      paused(state).add(guest.vmid);
      return;
    case 'resume':
      paused(state).delete(guest.vmid);
      return;
  }
}

function powerRoutes(type: GuestType): Route[] {
  return Object.entries(TASKS[type]).map(([action, task]) => ({
    name: `${type}.${action}`,
    method: 'POST',
    path: new RegExp(`^/nodes/(?<node>[^/]+)/${type}/(?<vmid>[^/]+)/status/${action}$`),
    authenticated: true,
    permission: (p) => ({ path: vmPath(p), privilege: 'VM.PowerMgmt' }),
    params: { node: nodeParam, vmid: vmidParam },
    handle: async (call) => {
      await apply(call, type, action);
      return upid(String(call.params.node), task, Number(call.params.vmid), call.identity ? identityName(call.identity) : 'root@pam');
    },
  }));
}

export const guestPowerRoutes: Route[] = [...powerRoutes('qemu'), ...powerRoutes('lxc')];
