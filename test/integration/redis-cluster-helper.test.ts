// Proves startRedisCluster gives a real, working three-master cluster that ioredis's Cluster
// client can use: keys spread over the masters, and Lua runs on a hash-tagged key.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster, type Redis } from 'ioredis';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';

let redis: TestRedisCluster;
let cluster: Cluster;

before(async () => {
  redis = await startRedisCluster();
  const seed = redis.nodes[0];
  assert.ok(seed);
  cluster = new Cluster([{ host: seed.host, port: seed.port }], { redisOptions: { maxRetriesPerRequest: 1 } });
});

after(async () => {
  cluster?.disconnect();
  await redis?.stop();
});

/** A master not serving the key's slot answers MOVED instead of a count. */
async function holds(master: Redis, key: string): Promise<boolean> {
  try {
    return (await master.exists(key)) === 1;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('MOVED ')) return false;
    throw err;
  }
}

test('the helper reports three loopback masters', () => {
  assert.equal(redis.ports.length, 3);
  assert.equal(new Set(redis.ports).size, 3);
  assert.deepEqual(redis.nodes, redis.ports.map((port) => ({ host: '127.0.0.1', port })));
  assert.equal(redis.url, `redis://127.0.0.1:${redis.ports[0]}`);
});

test('keys with different hash tags land on all three masters', async () => {
  // The first write makes the client load the slot map, which nodes() reads.
  assert.equal(await cluster.set('{warmup}:value', 'x'), 'OK');
  const masters = cluster.nodes('master');
  assert.equal(masters.length, 3);

  // Which master holds a key is asked of the masters themselves, not the client's slot cache.
  // The tags' slots are fixed and redis-cli splits the slots evenly, so a few tags suffice.
  const holders = new Map<number, string>();
  for (let i = 0; i < 100 && holders.size < 3; i++) {
    const key = `{tag${i}}:value`;
    assert.equal(await cluster.set(key, `v-${i}`), 'OK');
    assert.equal(await cluster.get(key), `v-${i}`);
    const owners = [];
    for (const master of masters) if (await holds(master, key)) owners.push(master.options.port ?? 0);
    assert.equal(owners.length, 1, `${key} is held by ${owners.join(', ')}`);
    const [owner] = owners;
    if (owner !== undefined && !holders.has(owner)) holders.set(owner, key);
  }
  assert.deepEqual([...holders.keys()].sort(), [...redis.ports].sort(), JSON.stringify([...holders]));
});

test('a Lua script runs on a hash-tagged key', async () => {
  const script = "local n = redis.call('INCRBY', KEYS[1], ARGV[1]); redis.call('EXPIRE', KEYS[1], 60); return n";
  assert.equal(await cluster.eval(script, 1, '{lua}:counter', '5'), 5);
  assert.equal(await cluster.eval(script, 1, '{lua}:counter', '2'), 7);
  assert.ok((await cluster.ttl('{lua}:counter')) > 0);
  // Two keys in one script must share a slot: the same tag makes that so.
  const pair = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return redis.call('MGET', KEYS[1], KEYS[2])";
  assert.deepEqual(await cluster.eval(pair, 2, '{lua}:a', '{lua}:b', 'x'), ['x', 'x']);
});
