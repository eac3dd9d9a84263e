import type { ConsoleGrant } from '../../src/sessions/grant.js';

/** A Proxmox ticket shaped like a real one, with a part that must never show in a store's dump. */
export const TEST_TICKET = 'PVE:vncuser@pve:66BF2A1C::SIGNATURE-secret-part';

/** A grant for guest 100 on pve1 with a ticket, lasting an hour; `overrides` change any field. */
export function consoleGrant(overrides: Partial<ConsoleGrant> = {}): ConsoleGrant {
  return {
    target: { hostname: '127.0.0.2', port: 8006 },
    vmid: 100,
    node: 'pve1',
    type: 'qemu',
    console: 'novnc',
    credentials: { kind: 'ticket', username: 'vncuser@pve', ticket: TEST_TICKET, csrf: 'C', issuedAt: 1 },
    viewOnly: false,
    maxDurationMs: 3_600_000,
    ...overrides,
  };
}
