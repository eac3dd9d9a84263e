// Webhook delivery throughput: events queued through the gateway's emitter, delivered to a local
// receiver answering 200, from the memory queue and from a real redis-server's. Prints events per
// second and the CPU each event cost this process (the gateway's side: queueing, signing, sending).
// Usage: node dist/bench/webhooks.js [links=200] [events per link=10]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { silentLogger } from '../src/log.js';
import type { SessionRecord } from '../src/sessions/record.js';
import { WebhookDeliverer } from '../src/webhooks/deliverer.js';
import { WebhookEvents } from '../src/webhooks/emitter.js';
import { MemoryWebhookStore } from '../src/webhooks/memory-store.js';
import { WebhookMetrics } from '../src/webhooks/metrics.js';
import { RedisWebhookStore } from '../src/webhooks/redis-store.js';
import { DEFAULT_RETRY } from '../src/webhooks/retry.js';
import type { WebhookStore } from '../src/webhooks/store.js';
import { startRedis } from '../test/helpers/redis.js';

const links = Number(process.argv[2] ?? 200);
const perLink = Number(process.argv[3] ?? 10);

async function run(name: string, store: WebhookStore, url: string, received: () => number): Promise<void> {
  const metrics = new WebhookMetrics(new Registry(), () => store.depth());
  const deliverer = new WebhookDeliverer({ store, url, secret: 's'.repeat(32), timeoutMs: 10_000, retry: DEFAULT_RETRY, concurrency: 4, log: silentLogger, metrics });
  const events = new WebhookEvents({ store, metrics, log: silentLogger, queued: () => deliverer.wake(), shared: name === 'redis' });
  const start = received();
  const cpu = process.cpuUsage();
  const began = process.hrtime.bigint();
  deliverer.start();
  for (let link = 0; link < links; link++) {
    const session = { id: `session-${name}-${link}`, tokenPrefix: 'abcdef…', grant: { vmid: 100 + link, tag: `t${link}` }, expiresAt: Date.now() + 60_000 } as unknown as SessionRecord;
    events.sessionRedeemed(`token-${name}-${link}-${'x'.repeat(32)}`, session, { address: '127.0.0.1', userAgent: 'bench' });
    for (let i = 1; i < perLink; i++) events.powerAction(session, 'reset', 'ok');
  }
  const total = links * perLink;
  while (received() - start < total) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  const used = process.cpuUsage(cpu);
  await deliverer.close();
  events.close();
  const cpuUs = (used.user + used.system) / total;
  console.log(`${name.padEnd(6)} ${total} events in ${seconds.toFixed(2)} s: ${Math.round(total / seconds)} events/s, ${cpuUs.toFixed(0)} us CPU per event (gateway side, receiver in the same process)`);
}

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    count++;
    response.writeHead(200).end();
  });
});
let count = 0;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
await run('memory', new MemoryWebhookStore(1_000_000), url, () => count);
const redis = await startRedis();
const client = new Redis(redis.url, { enableAutoPipelining: true });
try {
  await run('redis', new RedisWebhookStore({ redis: client, prefix: 'bench:', maxQueued: 1_000_000 }), url, () => count);
} finally {
  client.disconnect();
  await redis.stop();
  server.close();
}
