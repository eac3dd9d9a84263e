import type { ConsoleBackend } from './consoles/index.js';
import type { Inventory } from './inventory.js';

const POLL_MS = 100;

/**
 * The inventory is a plain object tests may edit; a guest that stops there gets its console
 * server stopped (and its viewers cut), as on a real node. Returns the stopper.
 */
export function watchGuestStatus(inventory: Inventory, backend: ConsoleBackend): () => void {
  const lastStatus = new Map(inventory.guests.map((g) => [g.vmid, g.status]));
  const timer = setInterval(() => {
    for (const guest of inventory.guests) {
      if (lastStatus.get(guest.vmid) === 'running' && guest.status !== 'running') void backend.stopGuest(guest.vmid).catch(() => undefined);
      lastStatus.set(guest.vmid, guest.status);
    }
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
