import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GuestWatch } from './guest-watch.js';
import type { TicketAuthority, TicketWindow } from './auth/tickets.js';
import type { ConsoleBackend } from './consoles/index.js';
import type { TextConsoles } from './consoles/terminal/index.js';
import type { Inventory } from './inventory.js';
import type { Durations, Faults, Release } from './settings.js';
import type { ListenerTable } from './vnc/listeners.js';

/** Everything the routes share: the live inventory, knobs, keys and the console side. */
export interface SimState {
  /** Inventory edits (stops, migrations) applied before each request. */
  readonly guestWatch: GuestWatch;
  readonly inventory: Inventory;
  readonly release: Release;
  readonly durations: Durations;
  faults: Faults;
  readonly authority: TicketAuthority;
  readonly backend: ConsoleBackend;
  /** vncterm and termproxy processes, and what guests' text consoles received. */
  readonly terminals: TextConsoles;
  readonly listeners: ListenerTable;
  readonly caPem: string;
  readonly counters: { vncproxyCalls: number; termproxyCalls: number; logins: number };
  /** Every ticket, CSRF token, VNC password and termproxy ticket handed out, for tests that check none leaks. */
  readonly issuedSecrets: Set<string>;
  /** Connections taken over from the HTTP server (relays, unanswered upgrades): closed at stop. */
  readonly takenSockets: Set<Duplex>;
  /** Console relays currently open. */
  openWebsockets: number;
}

export function loginWindow(state: SimState): TicketWindow {
  return { lifetimeMs: state.durations.ticketLifetimeMs, skewMs: state.durations.ticketSkewMs };
}

export function vncWindow(state: SimState): TicketWindow {
  return { lifetimeMs: state.durations.vncTicketLifetimeMs, skewMs: state.durations.vncTicketSkewMs };
}

/** Keeps a taken-over connection in `takenSockets` until it closes. */
export function adoptSocket(state: SimState, socket: Duplex): void {
  state.takenSockets.add(socket);
  socket.once('close', () => state.takenSockets.delete(socket));
}

/**
 * pve-http-server's AnyEvent.pm "always delay unauthorized calls by 3 seconds": every 401, be it
 * from the authentication step or from a handler (a wrong password, a bad vncticket), leaves no
 * sooner than `loginFailureDelayMs` after its request arrived.
 */
export async function delayUnauthorized(state: SimState, arrivedMs: number): Promise<void> {
  const left = state.durations.loginFailureDelayMs - (Date.now() - arrivedMs);
  if (left > 0) await sleep(left);
}
