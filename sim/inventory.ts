import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/** Privilege names as Proxmox spells them, e.g. `VM.Console`. */
const privilege = z.string().regex(/^[A-Z][A-Za-z]*(\.[A-Za-z]+)+$/, 'a privilege such as VM.Console');

const aclEntry = z.object({
  path: z.string().regex(/^\/[A-Za-z0-9_.\-/]*$/, 'an ACL path such as /vms or /vms/100'),
  privileges: z.array(privilege),
  /** Inherited by paths below (Proxmox's default). */
  propagate: z.boolean().default(true),
});

const apiToken = z.object({
  /** The token id, the part after `!` in `user@realm!tokenid`. */
  id: z.string().regex(/^[A-Za-z][A-Za-z0-9._-]*$/),
  secret: z.string().min(1),
  /** Privilege-separated tokens have their own ACL (capped by their user's); others are their user. */
  privsep: z.boolean().default(false),
  acl: z.array(aclEntry).default([]),
});

const user = z.object({
  userid: z.string().regex(/^[^\s:@!]+@[A-Za-z][A-Za-z0-9._-]*$/, 'user@realm'),
  password: z.string(),
  acl: z.array(aclEntry).default([]),
  tokens: z.array(apiToken).default([]),
});

export const SERIAL_PORTS = ['serial0', 'serial1', 'serial2', 'serial3'] as const;
const serialPort = z.enum(SERIAL_PORTS);

const nodeName = z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/, 'a node name');

const guest = z.object({
  vmid: z.number().int().min(100).max(999_999_999),
  type: z.enum(['qemu', 'lxc']),
  name: z.string().min(1),
  node: nodeName,
  /** `unknown`: the cluster has no statistics for it yet (no name in /cluster/resources). */
  status: z.enum(['running', 'stopped', 'unknown']).default('running'),
  template: z.boolean().default(false),
  /** QEMU only: the serial ports configured as sockets (what termproxy can attach to); default ["serial0"]. */
  serialPorts: z.array(serialPort).optional(),
  /** QEMU only: serial ports passed through to a host device (`serial1: /dev/ttyS0`), which `qm terminal` refuses. */
  serialDevices: z.partialRecord(serialPort, z.string().regex(/^\/dev\/.+$/, 'a host device such as /dev/ttyS0')).optional(),
  /** QEMU only: `vga`; a serial display makes vncproxy serve a vncterm on that port. Default `std`. */
  display: z.enum(['std', ...SERIAL_PORTS]).optional(),
});

const durations = z
  .object({
    listenerWaitMs: z.number().int().nonnegative(),
    vncTicketLifetimeMs: z.number().int().nonnegative(),
    vncTicketSkewMs: z.number().int().nonnegative(),
    ticketLifetimeMs: z.number().int().nonnegative(),
    ticketSkewMs: z.number().int().nonnegative(),
    passwordExpiryMs: z.number().int().nonnegative(),
    relayIdleMs: z.number().int().nonnegative(),
    loginFailureDelayMs: z.number().int().nonnegative(),
    hungSocketCloseMs: z.number().int().nonnegative(),
    termLoginWaitMs: z.number().int().nonnegative(),
    vnctermFirstClientWaitMs: z.number().int().nonnegative(),
    vnctermLingerMs: z.number().int().nonnegative(),
    vnctermIdleMs: z.number().int().nonnegative(),
  })
  .partial()
  .strict();

export const routeFailureSchema = z
  .object({ match: z.string().min(1), status: z.number().int().min(400).max(599), message: z.string().optional() })
  .strict();

const faults = z
  .object({
    unreachable: z.enum(['refuse', 'drop']).nullable(),
    delayMs: z.number().int().nonnegative(),
    failRoutes: z.array(routeFailureSchema),
    dropWebsocketAfterBytes: z.number().int().nonnegative().nullable(),
    refuseLogins: z.boolean(),
    bulk: z.boolean(),
    echoClipboard: z.boolean(),
  })
  .partial()
  .strict();

export const inventorySchema = z
  .object({
    /** Shown as `clustername` at login to users with Sys.Audit on `/`. */
    clusterName: z.string().default('simcluster'),
    nodes: z.array(nodeName).min(1),
    users: z.array(user.strict()),
    guests: z.array(guest.strict()),
    release: z.enum(['current', '7']).optional(),
    durations: durations.optional(),
    faults: faults.optional(),
  })
  .strict()
  .superRefine((inv, ctx) => {
    const vmids = new Set<number>();
    inv.guests.forEach((g, i) => {
      if (vmids.has(g.vmid)) ctx.addIssue({ code: 'custom', path: ['guests', i, 'vmid'], message: `duplicate vmid ${g.vmid}` });
      vmids.add(g.vmid);
      if (!inv.nodes.includes(g.node)) ctx.addIssue({ code: 'custom', path: ['guests', i, 'node'], message: `unknown node ${g.node}` });
      if (g.type === 'lxc') {
        for (const field of ['serialPorts', 'serialDevices', 'display'] as const) {
          if (g[field] !== undefined) ctx.addIssue({ code: 'custom', path: ['guests', i, field], message: 'only QEMU guests have this' });
        }
      } else {
        if (g.display !== undefined && g.display !== 'std' && !serialPortsOf(g).includes(g.display)) {
          ctx.addIssue({ code: 'custom', path: ['guests', i, 'display'], message: `${g.display} is not among the serial ports` });
        }
        for (const port of Object.keys(g.serialDevices ?? {})) {
          if (serialPortsOf(g).includes(port)) ctx.addIssue({ code: 'custom', path: ['guests', i, 'serialDevices', port], message: `${port} is already a socket` });
        }
      }
    });
  });

export type Inventory = z.output<typeof inventorySchema>;
export type InventoryUser = Inventory['users'][number];
export type InventoryToken = InventoryUser['tokens'][number];
export type InventoryGuest = Inventory['guests'][number];
export type AclEntry = InventoryUser['acl'][number];

/** The serial ports a guest has configured as sockets: QEMU guests have serial0 unless told otherwise. */
export function serialPortsOf(guest: Pick<InventoryGuest, 'type' | 'serialPorts'>): readonly string[] {
  return guest.serialPorts ?? (guest.type === 'qemu' ? ['serial0'] : []);
}

/** What a QEMU guest's config holds for a serial port: `socket`, a host device, or nothing. */
export function serialConfig(guest: Pick<InventoryGuest, 'type' | 'serialPorts' | 'serialDevices'>, port: string): string | undefined {
  if (serialPortsOf(guest).includes(port)) return 'socket';
  return guest.serialDevices?.[port as (typeof SERIAL_PORTS)[number]];
}

/** The inventory the simulator starts with unless given another. */
export function defaultInventory(): Inventory {
  return inventorySchema.parse({
    nodes: ['pve1', 'pve2'],
    users: [
      {
        userid: 'vncuser@pve',
        password: 'vncpass',
        acl: [{ path: '/vms', privileges: ['VM.Console', 'VM.Audit'] }],
        tokens: [{ id: 'console', secret: '11111111-2222-3333-4444-555555555555', privsep: false }],
      },
      { userid: 'auditor@pve', password: 'auditpass', acl: [{ path: '/vms', privileges: ['VM.Audit'] }] },
    ],
    guests: [
      { vmid: 100, type: 'qemu', name: 'web01', node: 'pve1', status: 'running' },
      { vmid: 101, type: 'qemu', name: 'db01', node: 'pve1', status: 'stopped' },
      { vmid: 200, type: 'lxc', name: 'ct01', node: 'pve1', status: 'running' },
      { vmid: 300, type: 'qemu', name: 'app02', node: 'pve2', status: 'running' },
    ],
  });
}

/** Validates an inventory object; the error lists every problem with its JSON path. */
export function parseInventory(input: unknown, source = 'inventory'): Inventory {
  const result = inventorySchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`invalid ${source}:\n${problems.join('\n')}`);
  }
  return result.data;
}

export async function loadInventoryFile(file: string): Promise<Inventory> {
  const text = await readFile(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`invalid inventory ${file}: ${(err as Error).message}`, { cause: err });
  }
  return parseInventory(json, `inventory ${file}`);
}
