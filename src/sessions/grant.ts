import type { PowerAction, ProxmoxCredentials } from '../proxmox/client.js';

export type GuestType = 'qemu' | 'lxc';
export type ConsoleKind = 'novnc' | 'xterm';

export interface ProxmoxTarget {
  hostname: string;
  port: number;
  /** SHA-256 pin of the Proxmox certificate, when the backend gave one. */
  fingerprint?: string;
}

/** Credentials as the backend gave them, kept only when `validate: false` until first use. */
export interface PasswordCredentials {
  kind: 'password';
  username: string;
  password: string;
}

export type GrantCredentials = ProxmoxCredentials | PasswordCredentials;

/** Everything needed to open a guest's console; what a token stands for, then a session holds. */
export interface ConsoleGrant {
  target: ProxmoxTarget;
  vmid: number;
  /** Absent until resolved (node omitted and validation off); may change when a guest migrates. */
  node?: string;
  type?: GuestType;
  console: ConsoleKind;
  serial?: string;
  credentials: GrantCredentials;
  /** The backend's title, else the guest's name once known. */
  title?: string;
  viewOnly: boolean;
  maxDurationMs: number;
  /** The page's language when the backend chose one (`lang`); else the browser's. */
  lang?: string;
  /** Power actions the page may offer (`power`); none when absent. */
  power?: PowerAction[];
  /** The backend's own opaque label (`tag`), echoed in /status, events and recordings. */
  tag?: string;
  /** Each viewer connection is recorded into `recording_dir` (`record`). */
  record?: boolean;
}

/**
 * What a shared link's token stands for (POST /sessions/<id>/links): one more browser of a session
 * that is live already. It holds no credentials: those stay with the session.
 */
export interface SharedLinkGrant {
  readonly join: { readonly sessionId: string; readonly viewOnly: boolean };
}

/** What a console token stands for: a new session, or a further browser of a live one. */
export type LinkGrant = ConsoleGrant | SharedLinkGrant;

export function isSharedLink(grant: LinkGrant): grant is SharedLinkGrant {
  return 'join' in grant;
}

/** What the backend asks for, checked for form: the grant is made from it. */
export interface GrantRequest {
  hostname: string;
  port: number;
  vmid: number;
  node?: string;
  type?: GuestType;
  console: ConsoleKind;
  serial?: string;
  fingerprint?: string;
  credentials: PasswordCredentials | { kind: 'apiToken'; tokenId: string; secret: string };
  maxDurationSeconds?: number;
  viewOnly: boolean;
  title?: string;
  validate: boolean;
  lang?: string;
  power?: PowerAction[];
  tag?: string;
  record?: boolean;
}
