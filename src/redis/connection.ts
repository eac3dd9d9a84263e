import { rootCertificates } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.js';

export interface RedisSettings {
  url: string;
  /** A private CA for rediss:// (added to the system CAs). */
  caPem?: string;
  /** Speak Redis Cluster: the URL names one node, the rest are discovered. */
  cluster: boolean;
}

export interface RedisConnection {
  /** Commands fail at once while Redis is unreachable (no offline queue): nothing waits unseen. */
  readonly client: Redis | Cluster;
  /** For pub/sub only; it subscribes again by itself after a reconnect. */
  readonly subscriber: Redis | Cluster;
  /** Why the gateway is not ready, or null when Redis answers. */
  unavailable(): string | null;
  close(): Promise<void>;
}

function nodeOptions(settings: RedisSettings): RedisOptions {
  const url = new URL(settings.url);
  const tls = url.protocol === 'rediss:' ? { ca: settings.caPem ? [...rootCertificates, settings.caPem] : undefined, servername: url.hostname } : undefined;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.pathname.length > 1 && !settings.cluster ? { db: Number(url.pathname.slice(1)) } : {}),
    ...(tls ? { tls } : {}),
    connectTimeout: 2_000,
  };
}

/** Reconnect for ever, a little slower each time, never more than 2 s apart. */
const retry = (attempt: number) => Math.min(100 * attempt, 2_000);

function open(settings: RedisSettings, offlineQueue: boolean): Redis | Cluster {
  const options = nodeOptions(settings);
  // Auto-pipelining sends the commands of concurrent requests in one write: fewer system calls
  // and round trips when many links are made or opened at once.
  const common = { enableOfflineQueue: offlineQueue, maxRetriesPerRequest: offlineQueue ? null : 1, enableAutoPipelining: true };
  if (!settings.cluster) return new Redis({ ...options, ...common, retryStrategy: retry });
  const clusterOptions: ClusterOptions = {
    ...common,
    redisOptions: { ...options, ...common },
    clusterRetryStrategy: retry,
  };
  return new Cluster([{ host: options.host!, port: options.port! }], clusterOptions);
}

/**
 * The gateway's Redis: a command connection and a subscriber. Redis being away at start or
 * later is a state, not a crash: it is logged once when lost and once when back, and
 * `unavailable()` tells /healthz.
 */
export function connectRedis(settings: RedisSettings, log: Logger): RedisConnection {
  const client = open(settings, false);
  const subscriber = open(settings, true);
  let problem: string | null = 'connecting to Redis';
  let lost = false;
  client.on('ready', () => {
    if (lost) log.info('Redis is reachable again');
    problem = null;
    lost = false;
  });
  const down = (reason: string) => {
    if (!lost) log.error('Redis is unreachable: tokens and sessions cannot be created or opened until it is back', { reason });
    lost = true;
    problem = `Redis is unreachable (${reason})`;
  };
  client.on('error', (error: Error) => down(error.message));
  client.on('close', () => {
    if (problem === null) down('connection closed');
  });
  subscriber.on('error', () => {
    // Its state follows the command connection's, which is what gets logged.
  });
  // Without it this replica would miss ends decided elsewhere, and keep their viewers open.
  let listening = false;
  subscriber.on('ready', () => (listening = true));
  subscriber.on('close', () => (listening = false));
  return {
    client,
    subscriber,
    unavailable: () => problem ?? (listening ? null : 'not yet subscribed to session ends in Redis'),
    async close() {
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
