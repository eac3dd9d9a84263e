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
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sessions
      .live()
      .then((live) => service.renewStaleTickets(live))
      .catch((err: unknown) => log.error('ticket renewal sweep failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => (sweeping = false));
  }, SWEEP_EVERY_MS).unref();
  return () => clearInterval(timer);
}
