import { allPermissions, capabilities, findUser, hasPrivilege, privilegesOn, type Identity } from '../auth/permissions.js';
import { handlerAuthFailure } from '../http/errors.js';
import type { Route, RouteCall } from '../http/route.js';
import type { InventoryUser } from '../inventory.js';
import { loginWindow, type SimState } from '../state.js';

function fullUserid(params: RouteCall['params']): string {
  const username = String(params.username);
  return username.includes('@') || params.realm === undefined ? username : `${username}@${String(params.realm)}`;
}

/** The user a password (or a still-valid ticket of theirs, which renews it) logs in, or null. */
function checkCredentials(state: SimState, userid: string, password: string): InventoryUser | null {
  if (state.faults.refuseLogins) return null;
  const user = findUser(state.inventory, userid);
  if (!user) return null;
  if (password.startsWith('PVE:')) return state.authority.verifyLoginTicket(password, loginWindow(state)) === userid ? user : null;
  return user.password === password ? user : null;
}

const login: Route = {
  name: 'access.ticket',
  method: 'POST',
  path: /^\/access\/ticket$/,
  authenticated: false,
  params: {
    username: { type: 'string', maxLength: 64 },
    password: { type: 'string' },
    realm: { type: 'string', optional: true, maxLength: 32 },
    otp: { type: 'string', optional: true },
    path: { type: 'string', optional: true },
    privs: { type: 'string', optional: true },
    'new-format': { type: 'boolean', optional: true },
    'tfa-challenge': { type: 'string', optional: true },
  },
  handle({ state, params }) {
    const userid = fullUserid(params);
    const user = checkCredentials(state, userid, String(params.password));
    // AccessControl.pm: die PVE::Exception->new("authentication failure\n", code => 401), a
    // handler error, so JSON-formatted; dispatch delays it as it delays every 401.
    if (!user) throw handlerAuthFailure('authentication failure\n');
    state.counters.logins++;
    const identity: Identity = { user, token: null };
    const ticket = state.authority.loginTicket(user.userid);
    const csrf = state.authority.csrfToken(user.userid);
    state.issuedSecrets.add(ticket).add(csrf);
    return {
      username: user.userid,
      ticket,
      CSRFPreventionToken: csrf,
      cap: capabilities(identity),
      ...(hasPrivilege(identity, '/', 'Sys.Audit') ? { clustername: state.inventory.clusterName } : {}),
    };
  },
};

const permissions: Route = {
  name: 'access.permissions',
  method: 'GET',
  path: /^\/access\/permissions$/,
  authenticated: true,
  params: {
    path: { type: 'string', optional: true, maxLength: 256 },
  },
  handle({ identity, params }) {
    const self = identity!;
    if (params.path === undefined) return allPermissions(self);
    const path = String(params.path);
    // AccessControl.pm: `$res = { $path => $perms } if $perms`, and RPCEnvironment's permissions()
    // returns a hash even when empty (true in Perl), so a path without privileges is `{path: {}}`.
    return { [path]: privilegesOn(self, path) };
  },
};

export const accessRoutes: Route[] = [login, permissions];
