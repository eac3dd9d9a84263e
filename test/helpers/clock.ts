import { afterEach, beforeEach, mock } from 'node:test';

/**
 * Time that moves only when a test says so, for the units that take a `now`. It starts at the
 * real time by default: the Redis stores derive key expiries (on Redis's own clock) from it.
 */
export class ManualClock {
  constructor(public t = Date.now()) {}

  readonly now = (): number => this.t;

  advance(ms: number): void {
    this.t += ms;
  }
}

type MockedApi = NonNullable<NonNullable<Parameters<typeof mock.timers.enable>[0]>['apis']>[number];

/**
 * node:test's fake timers around every test of the enclosing suite, for units that use real
 * timers; `mock.timers.tick(ms)` moves them. setImmediate stays real, so `settle()` still works.
 */
export function useMockTimers(apis: MockedApi[] = ['setTimeout', 'setInterval', 'Date'], now = 0): void {
  beforeEach(() => mock.timers.enable({ apis, now }));
  afterEach(() => mock.timers.reset());
}

/** Lets every promise continuation that is ready run (a lock handed on, a flush written). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
