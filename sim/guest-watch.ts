import type { Inventory } from './inventory.js';

const POLL_MS = 100;

export interface GuestWatch {
  /** Applies inventory edits now; every API request awaits it first. */
  sync(): Promise<void>;
  stop(): void;
}

/**
 * The inventory is a plain object tests may edit. A guest that stops there, or moves to another
 * node (a migration), loses its console servers and their viewers, as on a real cluster: `endConsoles`
 * is called for it. Requests sync before they run, so a console opened right after an edit is
 * never cut by the edit's late detection; the poll catches edits while no request comes.
 */
export function watchGuests(inventory: Inventory, endConsoles: (vmid: number) => Promise<void>): GuestWatch {
  const last = new Map(inventory.guests.map((g) => [g.vmid, { status: g.status, node: g.node }]));
  const sync = async () => {
    const ending: Promise<void>[] = [];
    for (const guest of inventory.guests) {
      const before = last.get(guest.vmid);
      const stopped = before?.status === 'running' && guest.status !== 'running';
      const migrated = before !== undefined && before.node !== guest.node;
      if (stopped || migrated) ending.push(endConsoles(guest.vmid).catch(() => undefined));
      last.set(guest.vmid, { status: guest.status, node: guest.node });
    }
    await Promise.all(ending);
  };
  const timer = setInterval(() => void sync(), POLL_MS);
  timer.unref();
  return { sync, stop: () => clearInterval(timer) };
}
