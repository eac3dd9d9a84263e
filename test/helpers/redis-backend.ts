import { Cluster, Redis } from 'ioredis';
import { startRedis, type TestRedis } from './redis.js';
import { startRedisCluster } from './redis-cluster.js';

export type RedisKind = 'standalone' | 'cluster';

/** A real redis-server or a real 3-master Cluster, and what tests do with either. */
export interface RedisBackend {
  kind: RedisKind;
  url: string;
  /** A client as the gateway makes them: without an offline queue commands fail at once when Redis is away. */
  connect(offlineQueue?: boolean): Promise<Redis | Cluster>;
  /** Every key on every node. */
  eachKey(visit: (node: Redis, key: string) => Promise<void>): Promise<void>;
  flushAll(): Promise<void>;
  /** The standalone server itself, for killing and restarting it. */
  server?: TestRedis;
  stop(): Promise<void>;
}

export async function startRedisBackend(kind: RedisKind): Promise<RedisBackend> {
  let nodes: { host: string; port: number }[];
  let url: string;
  let server: TestRedis | undefined;
  let stopServers: () => Promise<void>;
  if (kind === 'cluster') {
    const cluster = await startRedisCluster();
    ({ nodes, url } = cluster);
    stopServers = () => cluster.stop();
  } else {
    server = await startRedis();
    nodes = [{ host: '127.0.0.1', port: server.port }];
    url = server.url;
    stopServers = () => server!.stop();
  }
  const clients: Array<Redis | Cluster> = [];
  const onEachNode = async (work: (node: Redis) => Promise<void>) => {
    for (const { host, port } of nodes) {
      const node = new Redis({ host, port });
      node.on('error', () => {});
      try {
        await work(node);
      } finally {
        node.disconnect();
      }
    }
  };
  return {
    kind,
    url,
    server,
    async connect(offlineQueue = false) {
      const options = { enableOfflineQueue: offlineQueue, maxRetriesPerRequest: offlineQueue ? null : 1, retryStrategy: (n: number) => Math.min(n * 100, 1000) };
      const client = kind === 'cluster' ? new Cluster(nodes, { ...options, clusterRetryStrategy: options.retryStrategy, redisOptions: options }) : new Redis(url, options);
      // Servers may stop before the last clients are gone; their reconnect attempts are no test's concern.
      client.on('error', () => {});
      clients.push(client);
      if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
      return client;
    },
    eachKey: (visit) => onEachNode(async (node) => {
      for (const key of await node.keys('*')) await visit(node, key);
    }),
    flushAll: () => onEachNode(async (node) => void (await node.flushall())),
    async stop() {
      for (const client of clients) client.disconnect();
      await stopServers();
    },
  };
}
