import type { Inventory } from './inventory.js';

const POLL_MS = 100;

/**
 * The inventory is a plain object tests may edit. A guest that stops there, or moves to another
 * node (a migration), loses its console servers and their viewers, as on a real cluster: `endConsoles`
 * is called for it. Returns the stopper.
 */
export function watchGuests(inventory: Inventory, endConsoles: (vmid: number) => Promise<void>): () => void {
  const last = new Map(inventory.guests.map((g) => [g.vmid, { status: g.status, node: g.node }]));
  const timer = setInterval(() => {
    for (const guest of inventory.guests) {
      const before = last.get(guest.vmid);
      const stopped = before?.status === 'running' && guest.status !== 'running';
      const migrated = before !== undefined && before.node !== guest.node;
      if (stopped || migrated) void endConsoles(guest.vmid).catch(() => undefined);
      last.set(guest.vmid, { status: guest.status, node: guest.node });
    }
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
