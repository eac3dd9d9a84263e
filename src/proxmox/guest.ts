import type { GuestType, ProxmoxClient, ProxmoxCredentials } from './client.js';
import { isProxmoxError, ProxmoxError } from './errors.js';

export interface GuestRef {
  node?: string;
  vmid: number;
  type?: GuestType;
}

export interface ResolvedGuest {
  node: string;
  type: GuestType;
  name: string;
  status: string;
}

function defaultName(type: GuestType, vmid: number): string {
  return `${type === 'qemu' ? 'VM' : 'CT'} ${vmid}`;
}

/**
 * Finds where a guest lives and what it is. A node and type given by the backend are tried
 * first; when one is missing, or the node no longer holds the guest (it migrated), the cluster's
 * resource list decides.
 */
export async function resolveGuest(client: ProxmoxClient, creds: ProxmoxCredentials, ref: GuestRef): Promise<ResolvedGuest> {
  if (ref.node && ref.type) {
    try {
      const status = await client.guestStatus(creds, ref.node, ref.type, ref.vmid);
      return { node: ref.node, type: ref.type, name: status.name ?? defaultName(ref.type, ref.vmid), status: status.status };
    } catch (err) {
      if (!isProxmoxError(err, 'guest_not_found')) throw err;
    }
  }
  const listed = (await client.resources(creds)).find((g) => g.vmid === ref.vmid && (!ref.type || g.type === ref.type));
  if (!listed) {
    if (ref.node && !ref.type) {
      // An unknown node must be reported as such, not as a missing guest.
      await client.guestStatus(creds, ref.node, 'qemu', ref.vmid).catch((err: unknown) => {
        if (isProxmoxError(err, 'node_not_found')) throw err;
      });
    }
    throw new ProxmoxError('guest_not_found', `Guest ${ref.vmid} was not found in the cluster (or the identity may not audit it).`);
  }
  // Guests without statistics yet are listed as "unknown": ask their node.
  const status = listed.status === 'unknown' ? await client.guestStatus(creds, listed.node, listed.type, listed.vmid) : { status: listed.status, name: listed.name };
  return {
    node: listed.node,
    type: listed.type,
    name: status.name ?? listed.name ?? defaultName(listed.type, listed.vmid),
    status: status.status,
  };
}

export type ConsoleLogin =
  | { kind: 'password'; username: string; password: string }
  | ProxmoxCredentials;

export interface ConsoleAccess {
  /** What to keep for the session: a ticket (never the password) or the API token. */
  credentials: ProxmoxCredentials;
  node: string;
  type: GuestType;
  name: string;
}

const CONSOLE_PRIVILEGE = 'VM.Console';

/**
 * The check /create runs before handing out a token: the credentials work, the guest exists and
 * runs, and the identity may open its console.
 */
export async function checkConsoleAccess(client: ProxmoxClient, login: ConsoleLogin, ref: GuestRef): Promise<ConsoleAccess> {
  const credentials = login.kind === 'password' ? await client.login(login.username, login.password) : login;
  const path = `/vms/${ref.vmid}`;
  let guest: ResolvedGuest;
  try {
    guest = await resolveGuest(client, credentials, ref);
  } catch (err) {
    // Proxmox checks permissions before existence; a guest the identity may not see at all is
    // a permission problem, not a missing guest.
    if (isProxmoxError(err, 'guest_not_found') && Object.keys(await client.permissions(credentials, path)).length === 0) {
      throw new ProxmoxError('permission_denied', `The Proxmox identity has no privileges on ${path}.`, { cause: err });
    }
    throw err;
  }
  if (guest.status !== 'running') {
    throw new ProxmoxError('guest_not_running', `Guest ${ref.vmid} on node ${guest.node} is not running (status: ${guest.status}).`);
  }
  const privileges = await client.permissions(credentials, path);
  if (!(CONSOLE_PRIVILEGE in privileges)) {
    throw new ProxmoxError('permission_denied', `The Proxmox identity lacks ${CONSOLE_PRIVILEGE} on ${path}.`);
  }
  return { credentials, node: guest.node, type: guest.type, name: guest.name };
}
