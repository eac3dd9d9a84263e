import { setTimeout as sleep } from 'node:timers/promises';
import { authenticate, apiTokenFrom, checkCsrf } from '../auth/credentials.js';
import { hasPrivilege, type Identity } from '../auth/permissions.js';
import { delayUnauthorized, loginWindow, type SimState } from '../state.js';
import { ApiError, permissionDenied, unknownNode } from './errors.js';
import { reasonOf, type Answer, type Exchange } from './exchange.js';
import { verifyParams } from './params.js';
import { TAKEN_OVER, type Route } from './route.js';

const API_PREFIX = '/api2/json';

function findRoute(routes: Route[], method: string, path: string): { route: Route; pathParams: Record<string, string> } | null {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.path.exec(path);
    if (match) return { route, pathParams: { ...match.groups } };
  }
  return null;
}

function injectedFailure(state: SimState, routeName: string | undefined, path: string): ApiError | null {
  for (const failure of state.faults.failRoutes) {
    let hit = failure.match === routeName;
    if (!hit) {
      try {
        hit = new RegExp(failure.match).test(path);
      } catch {
        hit = false;
      }
    }
    if (hit) return new ApiError(failure.status, failure.message ?? `injected failure (${failure.match})\n`);
  }
  return null;
}

/** The checks of pveproxy, in its order: auth 401, route 501, permission 403, node 500, params 400, handler. */
async function run(state: SimState, routes: Route[], exchange: Exchange, rawParams: Record<string, string>): Promise<unknown> {
  const fullPath = exchange.url.pathname;
  const path = fullPath.startsWith(`${API_PREFIX}/`) ? fullPath.slice(API_PREFIX.length) : null;
  const found = path === null ? null : findRoute(routes, exchange.method, path);

  const failure = injectedFailure(state, found?.route.name, path ?? fullPath);
  if (failure) throw failure;

  let identity: Identity | null = null;
  if (found && !found.route.authenticated) {
    if (apiTokenFrom(exchange.headers)) throw new ApiError(403, 'Permission check failed (API tokens cannot log in)\n');
  } else {
    const auth = authenticate(exchange.headers, state.inventory, state.authority, loginWindow(state));
    if (auth.via === 'ticket' && exchange.method !== 'GET') {
      checkCsrf(exchange.headers, auth.identity.user.userid, state.authority, loginWindow(state));
    }
    identity = auth.identity;
  }

  if (!found) throw new ApiError(501, `Method '${exchange.method} ${path ?? fullPath}' not implemented\n`);
  const { route, pathParams } = found;

  if (route.permission && identity) {
    const { path: aclPath, privilege } = route.permission(pathParams);
    if (!hasPrivilege(identity, aclPath, privilege)) throw permissionDenied(aclPath, privilege);
  }
  // pveproxy resolves the node to forward to before the handler checks parameters.
  if (pathParams.node !== undefined && !state.inventory.nodes.includes(pathParams.node)) throw unknownNode(pathParams.node);

  const params = verifyParams(route.params, { ...rawParams, ...pathParams });
  return route.handle({ state, exchange, identity, params });
}

export function errorAnswer(state: SimState, err: unknown): Answer {
  const apiError = err instanceof ApiError ? err : new ApiError(500, `${(err as Error)?.message ?? String(err)}\n`);
  if (apiError.extra.bare) return { status: apiError.status, reason: reasonOf(apiError.message), body: null };
  const body: Record<string, unknown> = { data: null };
  if (apiError.extra.errors) body.errors = apiError.extra.errors;
  // libpve-http-server-perl 5.2.0 (2025) added the message to the body; PVE 7 has only the status line.
  if (state.release === 'current') body.message = apiError.message;
  return { status: apiError.status, reason: reasonOf(apiError.message), body: JSON.stringify(body) };
}

/** Runs one request to its answer, or to TAKEN_OVER when a route kept the connection. */
export async function dispatch(state: SimState, routes: Route[], exchange: Exchange, rawParams: () => Promise<Record<string, string>>): Promise<Answer | typeof TAKEN_OVER> {
  const arrived = Date.now();
  if (state.faults.delayMs > 0) await sleep(state.faults.delayMs);
  await state.guestWatch.sync();
  try {
    const data = await run(state, routes, exchange, await rawParams());
    if (data === TAKEN_OVER) return TAKEN_OVER;
    return { status: 200, reason: 'OK', body: JSON.stringify({ data: data ?? null }) };
  } catch (err) {
    const answer = errorAnswer(state, err);
    if (answer.status === 401) await delayUnauthorized(state, arrived);
    return answer;
  }
}
