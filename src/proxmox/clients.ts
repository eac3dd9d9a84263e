import { ProxmoxClient, type ProxmoxClientOptions, type ProxmoxEndpoint } from './client.js';

/** Clients kept at once; the least recently used is closed past this (its pooled sockets with it). */
const MAX_CLIENTS = 256;

/**
 * One client (and one pool of keep-alive connections) per Proxmox endpoint and pin, shared by
 * every token and session that targets it.
 */
export class ProxmoxClients {
  private readonly clients = new Map<string, ProxmoxClient>();

  constructor(private readonly options: ProxmoxClientOptions) {}

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  for(endpoint: ProxmoxEndpoint): ProxmoxClient {
    const key = `${endpoint.hostname}|${endpoint.port}|${endpoint.fingerprint ?? ''}`;
    let client = this.clients.get(key);
    if (client) {
      // Re-inserting keeps the map in least-recently-used order.
      this.clients.delete(key);
    } else {
      client = new ProxmoxClient(endpoint, this.options);
      if (this.clients.size >= MAX_CLIENTS) {
        const [oldestKey, oldest] = this.clients.entries().next().value as [string, ProxmoxClient];
        this.clients.delete(oldestKey);
        void oldest.close();
      }
    }
    this.clients.set(key, client);
    return client;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.close()));
    this.clients.clear();
  }
}
