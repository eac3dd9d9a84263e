import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Resolves a name to its addresses (dns.lookup with `all: true`); injectable for tests. */
export type Lookup = (host: string) => Promise<Array<{ address: string }>>;

const systemLookup: Lookup = (host) => dnsLookup(host, { all: true });

/** The host resolves (now) to an address outside `proxmox_hosts_allowed`, or not at all. */
export class HostNotAllowedError extends Error {
  readonly code = 'ERR_PROXMOX_HOST_NOT_ALLOWED';
  constructor(host: string, detail: string) {
    super(`${host} ${detail}, which proxmox_hosts_allowed does not allow`);
    this.name = 'HostNotAllowedError';
  }
}

export interface HostPolicy {
  /** Whether the backend may point the gateway at `host` (checked at /create). */
  allows(host: string): Promise<boolean>;
  /**
   * The address to connect to for `host`, resolved now and checked: a name is resolved again at
   * every connection, which may be hours after /create, so the check must hold for this very
   * answer (DNS rebinding). Throws HostNotAllowedError.
   */
  addressFor(host: string): Promise<string>;
}

/**
 * `proxmox_hosts_allowed`: which Proxmox hosts a backend may point the gateway at. Entries are
 * host names (`pve.example.com`, `*.example.com`) or addresses and CIDR ranges. An empty list
 * allows any host. A name not listed by name is allowed only when every address it resolves to
 * lies in a listed range, so a name cannot smuggle in an address the operator did not allow.
 */
export function createHostPolicy(entries: string[], lookup: Lookup = systemLookup): HostPolicy {
  if (entries.length === 0) return { allows: async () => true, addressFor: async (host) => host };
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

  const addressFor = async (host: string): Promise<string> => {
    if (isIP(host) !== 0) {
      if (inRanges(host)) return host;
      throw new HostNotAllowedError(host, 'is an address');
    }
    const lower = host.toLowerCase();
    let addresses: string[];
    try {
      addresses = (await lookup(lower)).map((a) => a.address);
    } catch {
      throw new HostNotAllowedError(host, 'does not resolve');
    }
    if (addresses.length === 0) throw new HostNotAllowedError(host, 'does not resolve');
    // A name the operator listed may resolve anywhere; its address is still fixed for this connection.
    if (nameListed(lower)) return addresses[0]!;
    const outside = addresses.find((address) => !inRanges(address));
    if (outside !== undefined) throw new HostNotAllowedError(host, `resolves to ${outside}`);
    return addresses[0]!;
  };
  return {
    addressFor,
    async allows(host) {
      if (isIP(host) === 0 && nameListed(host.toLowerCase())) return true;
      return addressFor(host).then(
        () => true,
        () => false,
      );
    },
  };
}
