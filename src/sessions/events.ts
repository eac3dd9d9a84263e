import type { PowerAction } from '../proxmox/client.js';
import type { ConsoleGrant } from './grant.js';
import type { SessionRecord } from './record.js';
import type { SessionEnded } from './store.js';

/** Who is on the other end of a request or websocket, as far as the gateway can tell. */
export interface ClientInfo {
  address: string;
  userAgent?: string;
}

/** One browser connection to a session's console. */
export interface ViewerInfo {
  /** Names this connection in its connected and disconnected events. */
  id: string;
  client: ClientInfo;
  viewOnly: boolean;
  /** Token prefix of the link the browser came with: the session's own, or a shared link's. */
  link: string;
  shared: boolean;
}

/** What a viewer's connection did, told when it closes. */
export interface ViewerUse {
  bytesToBrowser: number;
  bytesToUpstream: number;
  durationMs: number;
  reason: string;
}

/**
 * What happens to links and sessions, told to whoever watches (the webhooks, when configured).
 * Every call returns at once and never throws: a console, a redemption or a control request must
 * not wait for, or fail because of, what is done with its events.
 */
export interface ConsoleEvents {
  tokenCreated(token: string, grant: ConsoleGrant, expiresAt: number): void;
  tokenRevoked(token: string): void;
  sessionRedeemed(token: string, session: SessionRecord, client: ClientInfo): void;
  viewerConnected(session: SessionRecord, viewer: ViewerInfo): void;
  viewerDisconnected(session: SessionRecord, viewer: ViewerInfo, use: ViewerUse): void;
  /** Heard on every replica for every end (SessionStore.onEnded); told to the backend once. */
  sessionEnded(ended: SessionEnded): void;
  /** `outcome`: `ok`, or the error code Proxmox's refusal maps to. */
  powerAction(session: SessionRecord, action: PowerAction, outcome: string): void;
}

/** Nobody watches: no webhook_url. */
export const noEvents: ConsoleEvents = {
  tokenCreated() {},
  tokenRevoked() {},
  sessionRedeemed() {},
  viewerConnected() {},
  viewerDisconnected() {},
  sessionEnded() {},
  powerAction() {},
};
