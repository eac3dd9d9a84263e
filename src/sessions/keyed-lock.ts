/**
 * One holder per key at a time, in arrival order. A holder that never releases (a bug, a hung
 * peer) loses the lock after `maxHoldMs`, so one stuck connection cannot block a guest forever.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(key: string, maxHoldMs: number): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let unlock!: () => void;
    const held = new Promise<void>((resolve) => (unlock = resolve));
    const tail = previous.then(() => held);
    this.tails.set(key, tail);
    await previous;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      unlock();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    const timer = setTimeout(release, maxHoldMs);
    timer.unref();
    return release;
  }
}
