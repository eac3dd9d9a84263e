import { randomBytes, randomInt } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { identityName } from '../auth/permissions.js';
import type { GuestInfo } from '../consoles/index.js';
import { authFailure } from '../http/errors.js';
import { nodeParam, vmidParam } from '../http/params.js';
import { TAKEN_OVER, vmPath, type Route, type RouteCall } from '../http/route.js';
import type { InventoryGuest } from '../inventory.js';
import { adoptSocket, vncWindow, type SimState } from '../state.js';
import type { ConsoleListener } from '../vnc/listeners.js';
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
function upid(node: string, type: string, vmid: number, user: string): string {
  return `UPID:${node}:${hex8(randomInt(1000, 4_000_000))}:${hex8(randomInt(1, 2 ** 31))}:${hex8(Math.floor(Date.now() / 1000))}:${type}:${vmid}:${user}:`;
}

const consolePermission = (p: Record<string, string>) => ({ path: vmPath(p), privilege: 'VM.Console' });

/** The answer of a vncproxy-style call; how password and ticket relate depends on the release. */
async function openConsole(call: RouteCall, guest: InventoryGuest, generatePassword: boolean): Promise<Record<string, unknown>> {
  const { state } = call;
  state.counters.vncproxyCalls++;
  const user = identityName(call.identity!);
  const authPath = `/vms/${guest.vmid}`;
  const listener = state.listeners.open(guest.node, guest, call.params.websocket === true);
  let ticket: string;
  let password: string | undefined;
  if (state.release === 'current') {
    password = randomVncPassword();
    ticket = state.authority.vncTicket(user, authPath, { password, port: listener.port });
  } else {
    ticket = state.authority.vncTicket(user, authPath, {});
    password = generatePassword ? randomVncPassword() : undefined;
  }
  state.issuedSecrets.add(ticket).add(password ?? ticket.slice(0, 8));
  if (guest.status === 'running') {
    try {
      // Without a generated password QEMU gets the ticket, of which VNC uses the first 8 bytes.
      await state.backend.setVncPassword(guestInfo(guest), password ?? ticket.slice(0, 8));
    } catch (err) {
      state.listeners.release(listener);
      throw err;
    }
  }
  return {
    user,
    ticket,
    // Both occur in the wild: PVE 7 sends the port as a string.
    port: state.release === 'current' ? listener.port : String(listener.port),
    upid: upid(guest.node, 'vncproxy', guest.vmid, user),
    cert: state.caPem,
    ...(password === undefined ? {} : { password }),
  };
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

/** pveproxy answers nothing when it cannot reach the listener; the client is left hanging. */
function leaveUnanswered(state: SimState, socket: Duplex): void {
  const timer = setTimeout(() => socket.destroy(), state.durations.hungSocketCloseMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** The listener's connection: 101 once the guest's console answered, then relay until either side ends. */
async function connectListener(state: SimState, listener: ConsoleListener, socket: Duplex, head: Buffer, accept: string): Promise<void> {
  const { guest } = listener;
  let upstream = null;
  // A stopped guest, or a TLS-only listener, still accepts the connection, then has nothing to say.
  if (guest.status === 'running' && listener.websocket) upstream = await state.backend.openVnc(guestInfo(guest)).catch(() => null);
  if (socket.destroyed || !upstream) {
    upstream?.destroy();
    state.listeners.release(listener);
    if (!socket.destroyed) socket.end(accept);
    return;
  }
  socket.write(accept);
  state.openWebsockets++;
  relayWebsocket(socket, head, upstream, {
    idleMs: state.durations.relayIdleMs,
    dropAfterBytes: state.faults.dropWebsocketAfterBytes,
    onClose: () => {
      state.openWebsockets--;
      state.listeners.release(listener);
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
        throw authFailure('permission denied - invalid PVEVNC ticket');
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
