/** The knobs of the simulator that are not inventory: Proxmox release, durations and faults. */

/** `current`: PVE 8.4/9.x behaviour; `7`: PVE 7 (and older 8/9) behaviour. */
export type Release = 'current' | '7';

/** Every time limit Proxmox applies, in milliseconds; Proxmox's own values by default. */
export interface Durations {
  /** How long a vncproxy listener waits for its one connection. */
  listenerWaitMs: number;
  /** A VNC ticket is valid while -vncTicketSkewMs < age < vncTicketLifetimeMs. */
  vncTicketLifetimeMs: number;
  vncTicketSkewMs: number;
  /** A login ticket (and its CSRF token) is valid while -ticketSkewMs < age < ticketLifetimeMs. */
  ticketLifetimeMs: number;
  ticketSkewMs: number;
  /** The guest's VNC password expires this long after vncproxy set it. */
  passwordExpiryMs: number;
  /** A QEMU VNC console (`qm vncproxy`) with no byte in either direction for this long is cut; vncterm and termproxy have no such cut. */
  relayIdleMs: number;
  /** Every 401 (wrong password, bad ticket, token or CSRF token, bad vncticket, refused terminal login) is answered only after this delay. */
  loginFailureDelayMs: number;
  /** A vncwebsocket whose listener is gone gets no answer; its socket is closed after this long. */
  hungSocketCloseMs: number;
  /** termproxy waits this long for the client's login line once connected. */
  termLoginWaitMs: number;
  /** vncterm (container console) waits this long for its first client (the port's wait). */
  vnctermFirstClientWaitMs: number;
  /** vncterm exits this long after its last client left. */
  vnctermLingerMs: number;
  /** vncterm exits after this long without keyboard input or a client arriving or leaving. */
  vnctermIdleMs: number;
}

export const defaultDurations: Durations = {
  listenerWaitMs: 10_000,
  vncTicketLifetimeMs: 40_000,
  vncTicketSkewMs: 20_000,
  ticketLifetimeMs: 7_200_000,
  ticketSkewMs: 300_000,
  passwordExpiryMs: 30_000,
  relayIdleMs: 900_000,
  loginFailureDelayMs: 3_000,
  hungSocketCloseMs: 30_000,
  termLoginWaitMs: 10_000,
  vnctermFirstClientWaitMs: 20_000,
  vnctermLingerMs: 10_000,
  vnctermIdleMs: 1_800_000,
};

/** Makes one route fail: `match` is a route name (e.g. `qemu.vncproxy`) or a regex on the API path. */
export interface RouteFailure {
  match: string;
  status: number;
  message?: string;
}

/**
 * A host the client cannot get through to, for new connections and for requests on kept-alive
 * ones (consoles already relaying go on, as pveproxy's workers do when it is down): `refuse`
 * resets each at once, as a host whose API is down or a firewall that rejects; `drop` accepts each
 * and never answers, not even the TLS handshake, as a firewall that drops packets: the client
 * waits until its own timeout.
 */
export type Unreachable = 'refuse' | 'drop';

/** Misbehaviour injected for tests. */
export interface Faults {
  /** New connections cannot get through (null: they can). */
  unreachable: Unreachable | null;
  /** Every API answer is delayed by this many milliseconds. */
  delayMs: number;
  failRoutes: RouteFailure[];
  /** Console websockets are closed after this many bytes towards the client (null: never). */
  dropWebsocketAfterBytes: number | null;
  /** Every login fails (after the usual delay). */
  refuseLogins: boolean;
  /** Builtin console backend: stream bulk framebuffer data (benchmarks). Read at start only. */
  bulk: boolean;
  /** Builtin console backend: echo client clipboard text back. Read at start only. */
  echoClipboard: boolean;
}

export const defaultFaults: Faults = {
  unreachable: null,
  delayMs: 0,
  failRoutes: [],
  dropWebsocketAfterBytes: null,
  refuseLogins: false,
  bulk: false,
  echoClipboard: false,
};
