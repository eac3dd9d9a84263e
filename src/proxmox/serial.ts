import { ProxmoxError } from './errors.js';

const SERIAL_PORTS = ['serial0', 'serial1', 'serial2', 'serial3'] as const;

/** `vga`'s display type: `serial1`, `type=serial1` or `std,memory=32` (a property string whose default key is `type`). */
function vgaType(vga: string | undefined): string | undefined {
  for (const part of (vga ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return part.trim();
    if (part.slice(0, eq).trim() === 'type') return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The serial port a VM's text console attaches to, from its configuration, as Proxmox picks it:
 * qemu-server's termproxy takes `vga: serialN` when no port is asked for, and `qm terminal` the
 * first `serialN: socket` (pve-protocol.md section 4). The gateway takes the vga one only when it
 * is a socket too, since `qm terminal` would refuse it otherwise. A port asked for must be a
 * socket. Throws ProxmoxError `serial_not_configured` when there is no port to attach to.
 */
export function chooseSerial(config: Record<string, string>, vmid: number, requested?: string): string {
  const isSocket = (port: string) => config[port] === 'socket';
  if (requested !== undefined) {
    if (isSocket(requested)) return requested;
    const why = config[requested] === undefined ? 'is not configured' : `is not a socket (${config[requested]})`;
    throw new ProxmoxError('serial_not_configured', `VM ${vmid} has no serial console on ${requested}: the port ${why}.`);
  }
  const display = vgaType(config.vga);
  if (display !== undefined && (SERIAL_PORTS as readonly string[]).includes(display) && isSocket(display)) return display;
  const first = SERIAL_PORTS.find(isSocket);
  if (first) return first;
  throw new ProxmoxError('serial_not_configured', `VM ${vmid} has no serial port configured as a socket (serial0 to serial3), so it has no text console.`);
}
