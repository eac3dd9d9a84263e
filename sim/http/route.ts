import type { Identity } from '../auth/permissions.js';
import type { SimState } from '../state.js';
import type { Exchange } from './exchange.js';
import type { ParamSpec, ParamValue } from './params.js';

/** Returned by a handler that took the connection over (websocket upgrade, or a deliberate hang). */
export const TAKEN_OVER = Symbol('taken over');

export interface RouteCall {
  state: SimState;
  exchange: Exchange;
  /** Null only on routes that need no authentication. */
  identity: Identity | null;
  params: Record<string, ParamValue>;
}

export interface Route {
  /** Stable name, usable in the `failRoutes` fault (e.g. `qemu.vncproxy`). */
  name: string;
  method: 'GET' | 'POST';
  /** Matched against the path below /api2/json; named groups become parameters. */
  path: RegExp;
  /** False only for the login itself. */
  authenticated: boolean;
  /** The privilege checked before parameters, from the raw path parameters. */
  permission?: (pathParams: Record<string, string>) => { path: string; privilege: string };
  params: Record<string, ParamSpec>;
  handle(call: RouteCall): Promise<unknown> | unknown;
}

/** Path-parameter helpers shared by the guest routes. */
export function vmPath(pathParams: Record<string, string>): string {
  return `/vms/${pathParams.vmid ?? ''}`;
}
