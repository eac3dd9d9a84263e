import { repeatDetached } from '../detached.js';
import type { Logger } from '../log.js';
import type { ConsoleService } from './console-service.js';
import type { SessionStore } from './store.js';

/** How often live sessions' Proxmox tickets are looked at; one is renewed once an hour old. */
const SWEEP_EVERY_MS = 5 * 60 * 1000;

/**
 * Keeps every live session's Proxmox ticket renewable: a session watched for hours needs a valid
 * one when its viewer reconnects. Returns the function that stops it.
 */
export function scheduleTicketRenewal(sessions: SessionStore, service: ConsoleService, log: Logger): () => void {
  return repeatDetached(log, 'ticket renewal sweep', SWEEP_EVERY_MS, async () => service.renewStaleTickets(await sessions.live()));
}
