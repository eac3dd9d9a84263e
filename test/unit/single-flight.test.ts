import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SingleFlight } from '../../src/sessions/single-flight.js';

/** Work that settles when the test says, counting how often it was started. */
function controlledWork<T>() {
  const work = {
    starts: 0,
    resolve: (_value: T) => {},
    reject: (_error: unknown) => {},
    run: () => {
      work.starts++;
      return new Promise<T>((resolve, reject) => Object.assign(work, { resolve, reject }));
    },
  };
  return work;
}

describe('SingleFlight', () => {
  it('runs the work once for concurrent callers of a key, and they all get its result', async () => {
    const flight = new SingleFlight<string>();
    const work = controlledWork<string>();
    const callers = [flight.run('s1', work.run), flight.run('s1', work.run), flight.run('s1', work.run)];
    assert.equal(work.starts, 1);
    work.resolve('ticket');
    assert.deepEqual(await Promise.all(callers), ['ticket', 'ticket', 'ticket']);
  });

  it('starts anew once the work settled', async () => {
    const flight = new SingleFlight<string>();
    const work = controlledWork<string>();
    const first = flight.run('s1', work.run);
    work.resolve('one');
    await first;
    const second = flight.run('s1', work.run);
    assert.equal(work.starts, 2);
    work.resolve('two');
    assert.equal(await second, 'two');
  });

  it('shares a failure with every waiting caller, then forgets it', async () => {
    const flight = new SingleFlight<string>();
    const work = controlledWork<string>();
    const callers = [flight.run('s1', work.run), flight.run('s1', work.run)];
    work.reject(new Error('login refused'));
    for (const caller of callers) await assert.rejects(caller, /login refused/);
    const retry = flight.run('s1', work.run);
    assert.equal(work.starts, 2, 'a failure is not cached');
    work.resolve('ok');
    assert.equal(await retry, 'ok');
  });

  it('keeps keys apart', async () => {
    const flight = new SingleFlight<string>();
    const a = controlledWork<string>();
    const b = controlledWork<string>();
    const [ra, rb] = [flight.run('s1', a.run), flight.run('s2', b.run)];
    assert.deepEqual([a.starts, b.starts], [1, 1]);
    b.resolve('b');
    a.resolve('a');
    assert.deepEqual(await Promise.all([ra, rb]), ['a', 'b']);
  });
});
