/**
 * Lets a test await a condition on data that arrives by events: the event handlers call `wake()`,
 * and `until()` re-checks the condition on every wake until it holds, the source closed, or time ran out.
 */
export class WakeList {
  private waiters: (() => void)[] = [];

  wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** True once `test` holds; false when `closed()` or the time is up first (after a last check). */
  async until(test: () => boolean, closed: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (closed() || Date.now() >= deadline) return test();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }
}
