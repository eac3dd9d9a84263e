import type { AclEntry, Inventory, InventoryToken, InventoryUser } from '../inventory.js';

/** Privilege name -> propagate flag (1 or 0), the shape of GET /access/permissions. */
export type PrivilegeMap = Record<string, 0 | 1>;

/** Who made a request: a user (ticket) or an API token of a user. */
export interface Identity {
  user: InventoryUser;
  token: InventoryToken | null;
}

/** `user@realm` or `user@realm!tokenid`: the name consoles and tickets are issued to. */
export function identityName(identity: Identity): string {
  return identity.token ? `${identity.user.userid}!${identity.token.id}` : identity.user.userid;
}

function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push('/' + parts.slice(0, i).join('/'));
  return out;
}

/**
 * Proxmox's ACL evaluation: the most specific path carrying an entry that applies decides;
 * entries on ancestors apply only when they propagate.
 */
function aclPrivileges(acl: AclEntry[], path: string): PrivilegeMap {
  for (const candidate of ancestors(path)) {
    const applying = acl.filter((e) => e.path === candidate && (candidate === path || e.propagate));
    if (applying.length === 0) continue;
    const map: PrivilegeMap = {};
    for (const entry of applying) for (const p of entry.privileges) map[p] = entry.propagate || map[p] === 1 ? 1 : 0;
    return map;
  }
  return {};
}

export function privilegesOn(identity: Identity, path: string): PrivilegeMap {
  const own = aclPrivileges(identity.user.acl, path);
  if (!identity.token?.privsep) return own;
  // A privilege-separated token gets at most its user's privileges.
  const tokenPrivs = aclPrivileges(identity.token.acl, path);
  return Object.fromEntries(Object.entries(tokenPrivs).filter(([p]) => p in own)) as PrivilegeMap;
}

export function hasPrivilege(identity: Identity, path: string, privilege: string): boolean {
  return privilege in privilegesOn(identity, path);
}

/** Every path an ACL names for this identity, with its effective privileges (GET /access/permissions without path). */
export function allPermissions(identity: Identity): Record<string, PrivilegeMap> {
  const paths = new Set(identity.user.acl.map((e) => e.path));
  if (identity.token?.privsep) for (const e of identity.token.acl) paths.add(e.path);
  const out: Record<string, PrivilegeMap> = {};
  for (const path of [...paths].sort()) {
    const privs = privilegesOn(identity, path);
    if (Object.keys(privs).length > 0) out[path] = privs;
  }
  return out;
}

/** Login answer's `cap`: privileges per top-level area, as the web UI uses them. */
export function capabilities(identity: Identity): Record<string, PrivilegeMap> {
  const areas = { vms: '/vms', storage: '/storage', access: '/access', nodes: '/nodes', dc: '/', sdn: '/sdn', mapping: '/mapping' };
  const cap: Record<string, PrivilegeMap> = {};
  for (const [area, path] of Object.entries(areas)) {
    const union: PrivilegeMap = {};
    for (const [entryPath, privs] of Object.entries(allPermissions(identity))) {
      if (entryPath === path || entryPath.startsWith(`${path}/`)) Object.assign(union, privs);
    }
    cap[area] = union;
  }
  return cap;
}

export function findUser(inventory: Inventory, userid: string): InventoryUser | undefined {
  return inventory.users.find((u) => u.userid === userid);
}
