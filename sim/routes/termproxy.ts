import { identityName } from '../auth/permissions.js';
import { nodeParam, vmidParam, type ParamSpec } from '../http/params.js';
import type { Route, RouteCall } from '../http/route.js';
import { SERIAL_PORTS, serialConfig, serialPortsOf, type InventoryGuest } from '../inventory.js';
import { vncWindow, type SimState } from '../state.js';
import type { PortService } from '../vnc/listeners.js';
import { consoleBanner, consolePermission, portValue, upid } from './console.js';
import { routeGuest, type GuestType } from './guests.js';

/**
 * What the console command behind termproxy dies of at once, checked after the login in the order
 * of qemu-server's qm.pm `terminal`: the asked-for port must be configured ("serial interface
 * '$iface' is not configured") as a socket ("wrong serial type on interface '$iface'"); without
 * one, some port must be a socket ("unable to find a serial interface"); then "VM $vmid not
 * running". Undefined when the command runs.
 */
function commandFailure(guest: InventoryGuest, requestedSerial: string | undefined): string | undefined {
  if (guest.type === 'qemu' && requestedSerial !== undefined) {
    const config = serialConfig(guest, requestedSerial);
    if (config === undefined) return `serial interface '${requestedSerial}' is not configured`;
    if (config !== 'socket') return `wrong serial type on interface '${requestedSerial}'`;
  } else if (guest.type === 'qemu' && serialPortsOf(guest).length === 0) {
    return 'unable to find a serial interface';
  }
  if (guest.status !== 'running') return `${guest.type === 'qemu' ? 'VM' : 'CT'} ${guest.vmid} not running`;
  return undefined;
}

/**
 * The port a VM's termproxy attaches to. qemu-server's termproxy API, without `serial`:
 *   if ($conf->{vga}) { my $vga = parse_vga($conf->{vga});
 *     $serial = $vga->{type} if $vga->{type} =~ m/^serial\d+$/; }
 * and `qm terminal` without `-iface` takes the first serialN that is a socket. Undefined when
 * none is (qm terminal then fails).
 */
function attachedSerial(guest: InventoryGuest, requested: string | undefined): string | undefined {
  if (requested !== undefined) return requested;
  if (guest.display !== undefined && guest.display !== 'std') return guest.display;
  return SERIAL_PORTS.find((port) => serialConfig(guest, port) === 'socket');
}

/** The termproxy answer: its port, and a console ticket for the login line (bound to the port on current releases). */
async function openTermproxy(call: RouteCall, guest: InventoryGuest, requestedSerial: string | undefined): Promise<Record<string, unknown>> {
  const { state } = call;
  state.counters.termproxyCalls++;
  const user = identityName(call.identity!);
  const authPath = `/vms/${guest.vmid}`;
  const serialPort = guest.type === 'qemu' ? attachedSerial(guest, requestedSerial) : undefined;
  let ticket = '';
  const listener = await state.listeners.open(guest.node, guest, state.durations.listenerWaitMs, async (port, exited): Promise<PortService> => {
    const bindPort = state.release === 'current' ? port : null;
    ticket = state.authority.vncTicket(user, authPath, bindPort === null ? {} : { port });
    state.issuedSecrets.add(ticket);
    const termproxy = await state.terminals.startTermproxy(guest.vmid, { name: serialPort ?? 'console', hostname: guest.name }, {
      loginWaitMs: state.durations.termLoginWaitMs,
      checkLogin: (loginUser, loginTicket) => loginAllowed(state, loginUser) && state.authority.verifyVncTicket(loginTicket, loginUser, authPath, bindPort, vncWindow(state)),
      refusalDelayMs: state.durations.loginFailureDelayMs,
      commandFailure: () => commandFailure(guest, serialPort === undefined ? requestedSerial : serialPort),
      banner: consoleBanner(guest, serialPort),
      onExit: exited,
    });
    return { reusable: false, connect: () => termproxy.connect(), close: () => termproxy.close() };
  });
  return { user, ticket, port: portValue(state, listener.port), upid: upid(guest.node, 'vncproxy', guest.vmid, user) };
}

/** PVE 7 (and older 8/9) check the login's user name as a plain user id: an API token's `!` fails it. */
function loginAllowed(state: SimState, user: string): boolean {
  return state.release === 'current' || !user.includes('!');
}

function termproxyRoute(type: GuestType): Route {
  const params: Record<string, ParamSpec> = { node: nodeParam, vmid: vmidParam };
  if (type === 'qemu') params.serial = { type: 'enum', values: [...SERIAL_PORTS], optional: true };
  return {
    name: `${type}.termproxy`,
    method: 'POST',
    path: new RegExp(`^/nodes/(?<node>[^/]+)/${type}/(?<vmid>[^/]+)/termproxy$`),
    authenticated: true,
    permission: consolePermission,
    params,
    handle: (call) => openTermproxy(call, routeGuest(call, type), call.params.serial === undefined ? undefined : String(call.params.serial)),
  };
}

export const termproxyRoutes: Route[] = [termproxyRoute('qemu'), termproxyRoute('lxc')];
