import { randomBytes, randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { identityName } from '../auth/permissions.js';
import type { GuestInfo } from '../consoles/index.js';
import { handlerAuthFailure } from '../http/errors.js';
import { nodeParam, vmidParam } from '../http/params.js';
import { TAKEN_OVER, vmPath, type Route, type RouteCall } from '../http/route.js';
import type { InventoryGuest } from '../inventory.js';
import { adoptSocket, vncWindow, type SimState } from '../state.js';
import type { ConsoleListener, PortService } from '../vnc/listeners.js';
import { relayWebsocket } from '../ws/relay.js';
import { wantsWebsocket, websocketAcceptResponse } from '../ws/handshake.js';
import { routeGuest, type GuestType } from './guests.js';

export function guestInfo(guest: InventoryGuest): GuestInfo {
  return { vmid: guest.vmid, type: guest.type, name: guest.name, node: guest.node };
}

/** 8 characters from `!` to `` ` `` (0x21-0x60), as current qemu-server generates. */
export function randomVncPassword(): string {
  return String.fromCharCode(...randomBytes(8).map((b) => 0x21 + (b & 0x3f)));
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

/** `UPID:node:pid:pstart:starttime:type:id:user:`, the shape of a Proxmox task id. */
export function upid(node: string, type: string, vmid: number, user: string): string {
  return `UPID:${node}:${hex8(randomInt(1000, 4_000_000))}:${hex8(randomInt(1, 2 ** 31))}:${hex8(Math.floor(Date.now() / 1000))}:${type}:${vmid}:${user}:`;
}

export const consolePermission = (p: Record<string, string>) => ({ path: vmPath(p), privilege: 'VM.Console' });

/** vncterm.c: `uint16_t screen_width = 744; uint16_t screen_height = 400;` (93x25 cells of 8x16 pixels). */
const VNCTERM_DEFAULT_SIZE = { width: 744, height: 400 };

/** QEMU's VNC listener: one connection, relayed to the guest's display while it runs. */
function qemuVncService(state: SimState, guest: InventoryGuest, websocket: boolean): PortService {
  return {
    reusable: false,
    // `qm vncproxy` (qemu-server's qm.pm run_vnc_proxy) relays with `my $timeout = 60 * 15` on its
    // select loop and exits when nothing moved for that long; vncterm and termproxy have no such cut.
    idleCutMs: state.durations.relayIdleMs,
    // A stopped guest, or a TLS-only listener, still accepts the connection, then has nothing to say.
    connect: async () => (guest.status === 'running' && websocket ? state.backend.openVnc(guestInfo(guest)) : null),
    close: async () => undefined,
  };
}

/** The command behind a guest's text console prints this first, as `qm terminal` and `lxc-console` do. */
export function consoleBanner(guest: InventoryGuest, serialPort: string | undefined): string {
  return guest.type === 'qemu' ? `starting serial terminal on interface ${serialPort ?? 'serial0'}` : 'Connected to tty 1';
}

/** A vncterm for a container's console (or a VM's serial display), started by vncproxy. */
async function vnctermService(state: SimState, guest: InventoryGuest, size: { width: number; height: number }, password: string, exited: () => void): Promise<PortService> {
  const serialPort = guest.type === 'qemu' ? guest.display : undefined;
  const vncterm = await state.terminals.startVncterm(guest.vmid, serialPort ?? 'console', {
    name: guest.name,
    ...size,
    password,
    passwordLifetimeMs: state.durations.passwordExpiryMs,
    lingerMs: state.durations.vnctermLingerMs,
    idleMs: state.durations.vnctermIdleMs,
    banner: consoleBanner(guest, serialPort),
    onExit: exited,
  });
  return { reusable: true, connect: () => vncterm.connect(), close: () => vncterm.close() };
}

/** Whether vncproxy serves this guest with vncterm: containers, and VMs with a serial display. */
function hasTextDisplay(guest: InventoryGuest): boolean {
  return guest.type === 'lxc' || (guest.display !== undefined && guest.display !== 'std');
}

/** The answer of a vncproxy call; how password and ticket relate depends on the release. */
async function openConsole(call: RouteCall, guest: InventoryGuest, generatePassword: boolean): Promise<Record<string, unknown>> {
  const { state, params } = call;
  state.counters.vncproxyCalls++;
  const user = identityName(call.identity!);
  const authPath = `/vms/${guest.vmid}`;
  const websocket = params.websocket === true;
  const vncterm = hasTextDisplay(guest) && guest.status === 'running' && websocket;
  let ticket = '';
  let password: string | undefined;
  const waitMs = vncterm ? state.durations.vnctermFirstClientWaitMs : state.durations.listenerWaitMs;
  const listener = await state.listeners.open(guest.node, guest, waitMs, async (port, exited) => {
    if (state.release === 'current') {
      password = randomVncPassword();
      ticket = state.authority.vncTicket(user, authPath, { password, port });
    } else {
      ticket = state.authority.vncTicket(user, authPath, {});
      password = generatePassword ? randomVncPassword() : undefined;
    }
    // Without a generated password the ticket is the password, of which VNC uses the first 8 bytes.
    const vncPassword = password ?? ticket.slice(0, 8);
    state.issuedSecrets.add(ticket).add(vncPassword);
    if (vncterm) {
      const size = { width: Number(params.width ?? VNCTERM_DEFAULT_SIZE.width), height: Number(params.height ?? VNCTERM_DEFAULT_SIZE.height) };
      return vnctermService(state, guest, size, vncPassword, exited);
    }
    if (guest.status === 'running' && !hasTextDisplay(guest)) await state.backend.setVncPassword(guestInfo(guest), vncPassword);
    return qemuVncService(state, guest, websocket);
  });
  return {
    user,
    ticket,
    // Both occur in the wild: PVE 7 sends the port as a string.
    port: portValue(state, listener.port),
    upid: upid(guest.node, 'vncproxy', guest.vmid, user),
    cert: state.caPem,
    ...(password === undefined ? {} : { password }),
  };
}

/** Current releases answer the port as a number, PVE 7 as a string. */
export function portValue(state: SimState, port: number): number | string {
  return state.release === 'current' ? port : String(port);
}

function qemuVncproxy(): Route {
  return {
    name: 'qemu.vncproxy',
    method: 'POST',
    path: /^\/nodes\/(?<node>[^/]+)\/qemu\/(?<vmid>[^/]+)\/vncproxy$/,
    authenticated: true,
    permission: consolePermission,
    params: { node: nodeParam, vmid: vmidParam, websocket: { type: 'boolean', optional: true }, 'generate-password': { type: 'boolean', optional: true } },
    handle: (call) => openConsole(call, routeGuest(call, 'qemu'), call.params['generate-password'] === true),
  };
}

/** A container's console is vncterm; it has no generate-password (sending it is a 400). */
function lxcVncproxy(): Route {
  return {
    name: 'lxc.vncproxy',
    method: 'POST',
    path: /^\/nodes\/(?<node>[^/]+)\/lxc\/(?<vmid>[^/]+)\/vncproxy$/,
    authenticated: true,
    permission: consolePermission,
    params: {
      node: nodeParam,
      vmid: vmidParam,
      websocket: { type: 'boolean', optional: true },
      width: { type: 'integer', optional: true, minimum: 16, maximum: 4096 },
      height: { type: 'integer', optional: true, minimum: 16, maximum: 2160 },
    },
    handle: (call) => openConsole(call, routeGuest(call, 'lxc'), false),
  };
}

/**
 * The relay wants an idle limit; a service without one gets the longest a Node timer can wait
 * (about 24.8 days), which no test or session reaches.
 */
const NO_IDLE_CUT_MS = 2 ** 31 - 1;

/** pveproxy answers nothing when it cannot reach the listener; the client is left hanging. */
function leaveUnanswered(state: SimState, socket: Duplex): void {
  const timer = setTimeout(() => socket.destroy(), state.durations.hungSocketCloseMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** The listener's connection: 101 once the service behind the port answered, then relay until either side ends. */
async function connectListener(state: SimState, listener: ConsoleListener, socket: Duplex, head: Buffer, accept: string): Promise<void> {
  const { service } = listener;
  // vncterm's port stays open for more clients; the others are done with their one connection.
  const done = () => (service.reusable ? undefined : void state.listeners.release(listener));
  const upstream = await service.connect().catch(() => null);
  if (socket.destroyed || !upstream) {
    upstream?.destroy();
    done();
    if (!socket.destroyed) socket.end(accept);
    return;
  }
  socket.write(accept);
  state.openWebsockets++;
  relayWebsocket(socket, head, upstream, {
    idleMs: service.idleCutMs ?? NO_IDLE_CUT_MS,
    dropAfterBytes: state.faults.dropWebsocketAfterBytes,
    onClose: () => {
      state.openWebsockets--;
      done();
    },
  });
}

function vncwebsocket(type: GuestType): Route {
  return {
    name: `${type}.vncwebsocket`,
    method: 'GET',
    path: new RegExp(`^/nodes/(?<node>[^/]+)/${type}/(?<vmid>[^/]+)/vncwebsocket$`),
    authenticated: true,
    permission: consolePermission,
    params: { node: nodeParam, vmid: vmidParam, port: { type: 'integer', minimum: 5900, maximum: 5999 }, vncticket: { type: 'string', maxLength: 512 } },
    handle(call) {
      const { state, exchange, params } = call;
      const guest = routeGuest(call, type);
      const port = Number(params.port);
      const bindPort = state.release === 'current' ? port : null;
      if (!state.authority.verifyVncTicket(String(params.vncticket), identityName(call.identity!), `/vms/${guest.vmid}`, bindPort, vncWindow(state))) {
        // PVE::Ticket::verify_rsa_ticket raises this with code 401 inside the handler: a JSON body.
        throw handlerAuthFailure('permission denied - invalid PVEVNC ticket\n');
      }
      if (!exchange.upgrade || !wantsWebsocket(exchange.headers)) return { port: String(port) };
      const accept = websocketAcceptResponse(exchange.headers);
      const { socket, head } = exchange.upgrade;
      adoptSocket(state, socket);
      const listener = state.listeners.accept(guest.node, port);
      if (!listener) leaveUnanswered(state, socket);
      else void connectListener(state, listener, socket, head, accept).catch(() => socket.destroy());
      return TAKEN_OVER;
    },
  };
}

export const consoleRoutes: Route[] = [qemuVncproxy(), lxcVncproxy(), vncwebsocket('qemu'), vncwebsocket('lxc')];
