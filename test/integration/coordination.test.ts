// Leases and locks that replicas agree on: in one process (LocalCoordination) and in Redis, shared
// by two replicas' connections to a real redis-server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RedisCoordination } from '../../src/redis/coordination.js';
import { LocalCoordination, type Coordination } from '../../src/sessions/coordination.js';
import { startRedisBackend, type RedisBackend } from '../helpers/redis-backend.js';

function coordinationContract(name: string, pair: () => Promise<[Coordination, Coordination]>, { shared }: { shared: boolean }) {
  describe(`Coordination: ${name}`, () => {
    it('hands a guest lock to one holder at a time, the next when it is given up', async () => {
      const [a, b] = await pair();
      const order: string[] = [];
      const releaseA = await a.lock('guest-100', 5_000);
      const waiting = b.lock('guest-100', 5_000).then((release) => {
        order.push('b');
        return release;
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      order.push('a releases');
      releaseA();
      (await waiting)();
      assert.deepEqual(order, ['a releases', 'b']);
    });

    it('gives a lock up by itself after its longest hold', async () => {
      const [a, b] = await pair();
      await a.lock('guest-101', 200);
      const started = Date.now();
      let waited = 0;
      // The lock's own timer does not hold the process open (a server's sockets do): this sleep does.
      const [release] = await Promise.all([b.lock('guest-101', 5_000).then((r) => ((waited = Date.now() - started), r)), new Promise((resolve) => setTimeout(resolve, 300))]);
      release();
      assert.ok(waited >= 150 && waited < 2_000, `the second waited for the expiry (${waited} ms)`);
    });

    if (shared) {
      it('gives a lease to one replica only, until it expires', async () => {
        const [a, b] = await pair();
        assert.deepEqual([await a.claim('renew|s1', 300), await b.claim('renew|s1', 300)], [true, false]);
        await new Promise((resolve) => setTimeout(resolve, 400));
        assert.equal(await b.claim('renew|s1', 300), true);
      });
    }
  });
}

coordinationContract('one process', async () => {
  const local = new LocalCoordination();
  return [local, local];
}, { shared: false });

describe('Redis coordination', () => {
  let backend: RedisBackend;
  before(async () => {
    backend = await startRedisBackend('standalone');
  });
  after(async () => {
    await backend?.stop();
  });
  coordinationContract('redis', async () => {
    await backend.flushAll();
    return [new RedisCoordination(await backend.connect(), 'pvnc-test:'), new RedisCoordination(await backend.connect(), 'pvnc-test:')];
  }, { shared: true });
});
