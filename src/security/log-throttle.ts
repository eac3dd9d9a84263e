/**
 * At most one line per key (a client address) and interval, for lines that anyone may cause
 * without credentials: a flood of refused requests then costs a bounded amount of logging. The
 * next line written for a key says how many were held back before it.
 */
export class LogThrottle {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private windowEnds = 0;

  constructor(
    private readonly intervalMs = 10_000,
    /** Keys remembered per interval; past it every new key is held back too (many addresses, one flood). */
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Null when the line is to be held back; otherwise the count held back for `key` since its last line. */
  admit(key: string): number | null {
    const t = this.now();
    if (t >= this.windowEnds) {
      this.previous = this.current;
      this.current = new Map();
      this.windowEnds = t + this.intervalMs;
    }
    const held = this.current.get(key);
    if (held !== undefined) {
      this.current.set(key, held + 1);
      return null;
    }
    if (this.current.size >= this.maxKeys) return null;
    this.current.set(key, 0);
    const before = this.previous.get(key) ?? 0;
    this.previous.delete(key);
    return before;
  }
}
