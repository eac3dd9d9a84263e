import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * `proxmox_hosts_allowed`: which Proxmox hosts a backend may point the gateway at. Entries are
 * host names (`pve.example.com`, `*.example.com`) or addresses and CIDR ranges. An empty list
 * allows any host. A name not listed by name is allowed only when every address it resolves to
 * lies in a listed range, so a name cannot smuggle in an address the operator did not allow.
 */
export function createHostPolicy(entries: string[]): (host: string) => Promise<boolean> {
  if (entries.length === 0) return async () => true;
  const ranges = new BlockList();
  const names: string[] = [];
  for (const entry of entries) {
    const [address, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(address);
    if (family === 0) {
      names.push(entry.toLowerCase());
    } else if (prefix === undefined) {
      ranges.addAddress(address, family === 6 ? 'ipv6' : 'ipv4');
    } else {
      ranges.addSubnet(address, Number(prefix), family === 6 ? 'ipv6' : 'ipv4');
    }
  }
  const inRanges = (address: string) => ranges.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
  const nameListed = (host: string) =>
    names.some((name) => (name.startsWith('*.') ? host.endsWith(name.slice(1)) : host === name));

  return async (host) => {
    if (isIP(host) !== 0) return inRanges(host);
    const lower = host.toLowerCase();
    if (nameListed(lower)) return true;
    try {
      const addresses = await lookup(lower, { all: true });
      return addresses.length > 0 && addresses.every(({ address }) => inRanges(address));
    } catch {
      return false;
    }
  };
}
