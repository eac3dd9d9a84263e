// LocalViewers with fake viewers; whenEmpty's time limit runs on node:test's fake setTimeout.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { GATEWAY_RESTARTING_CLOSE_CODE, LocalViewers, SESSION_ENDED_CLOSE_CODE, type Viewer } from '../../src/sessions/local-viewers.js';
import { settle, useMockTimers } from '../helpers/clock.js';

/** A viewer that records how it was closed; `onClose` stands for the socket's close handler. */
function fakeViewer(onClose?: (self: Viewer) => void) {
  const closes: [number, string][] = [];
  const viewer: Viewer & { closes: typeof closes } = {
    closes,
    close(code, reason) {
      closes.push([code, reason]);
      onClose?.(viewer);
    },
  };
  return viewer;
}

/** LocalViewers holding `counts[session]` fake viewers per session, and those viewers. */
function holding(counts: Record<string, number>) {
  const viewers = new LocalViewers();
  const of: Record<string, ReturnType<typeof fakeViewer>[]> = {};
  for (const [session, count] of Object.entries(counts)) {
    of[session] = Array.from({ length: count }, () => fakeViewer());
    for (const viewer of of[session]) viewers.add(session, viewer);
  }
  return { viewers, of: (session: string) => of[session] ?? [] };
}

/** Resolves `settled` once whenEmpty did. */
function watchEmpty(viewers: LocalViewers, ms: number) {
  const state = { settled: false };
  void viewers.whenEmpty(ms).then(() => (state.settled = true));
  return state;
}

describe('LocalViewers', () => {
  useMockTimers(['setTimeout']);

  it('counts viewers by session, a viewer added twice once, and forgets a session with none left', () => {
    const viewers = new LocalViewers();
    const [a, b, c] = [fakeViewer(), fakeViewer(), fakeViewer()];
    viewers.add('s1', a);
    viewers.add('s1', a);
    viewers.add('s1', b);
    viewers.add('s2', c);
    assert.equal(viewers.count, 3);
    assert.deepEqual(viewers.sessionIds(), ['s1', 's2']);
    viewers.remove('s1', a);
    viewers.remove('s1', a);
    viewers.remove('s2', a);
    assert.equal(viewers.count, 2, 'removing what is not there changes nothing');
    viewers.remove('s2', c);
    assert.deepEqual(viewers.sessionIds(), ['s1']);
  });

  it("closes an ended session's viewers with 4000, and only that session's", () => {
    const { viewers, of } = holding({ s1: 2, s2: 1 });
    const [a, b] = of('s1');
    const [other] = of('s2');
    viewers.closeSession('s1');
    assert.deepEqual([a?.closes, b?.closes], [[[SESSION_ENDED_CLOSE_CODE, 'session ended']], [[SESSION_ENDED_CLOSE_CODE, 'session ended']]]);
    assert.deepEqual(other?.closes, []);
    assert.equal(viewers.count, 1);
    viewers.closeSession('s1');
    assert.equal(a!.closes.length, 1, 'closed once');
  });

  it('copes with a viewer whose close handler removes it at once, as a socket does', () => {
    const viewers = new LocalViewers();
    const selfRemoving = [fakeViewer((v) => viewers.remove('s1', v)), fakeViewer((v) => viewers.remove('s1', v))];
    for (const v of selfRemoving) viewers.add('s1', v);
    viewers.closeSession('s1');
    assert.equal(viewers.count, 0);
    assert.deepEqual(selfRemoving.map((v) => v.closes.length), [1, 1]);
  });

  it('closes every viewer with the code given (a restart), across sessions', () => {
    const { viewers, of } = holding({ s1: 1, s2: 1 });
    viewers.closeAll(GATEWAY_RESTARTING_CLOSE_CODE, 'gateway restarting');
    assert.deepEqual([...of('s1'), ...of('s2')].map((v) => v.closes), [[[1012, 'gateway restarting']], [[1012, 'gateway restarting']]]);
    assert.equal(viewers.count, 0);
  });

  it('resolves whenEmpty when the last viewer leaves, not when the first does', async () => {
    const { viewers, of } = holding({ s1: 1, s2: 1 });
    const empty = watchEmpty(viewers, 60_000);
    viewers.remove('s1', of('s1')[0]!);
    await settle();
    assert.equal(empty.settled, false);
    viewers.remove('s2', of('s2')[0]!);
    await settle();
    assert.equal(empty.settled, true);
  });

  it('gives up waiting for viewers to leave at its time limit, not a millisecond before', async () => {
    const { viewers } = holding({ s1: 1 });
    const empty = watchEmpty(viewers, 5_000);
    mock.timers.tick(4_999);
    await settle();
    assert.equal(empty.settled, false);
    mock.timers.tick(1);
    await settle();
    assert.equal(empty.settled, true);
  });

  it('resolves whenEmpty at once with no viewer, or no time to wait', async () => {
    const viewers = new LocalViewers();
    const none = watchEmpty(viewers, 5_000);
    viewers.add('s1', fakeViewer());
    const noTime = watchEmpty(viewers, 0);
    await settle();
    assert.deepEqual([none.settled, noTime.settled], [true, true]);
  });
});
