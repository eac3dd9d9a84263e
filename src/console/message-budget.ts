/** The browser sent more websocket messages than a person and noVNC ever do: a flood, not a user. */
export class BrowserFloodError extends Error {
  constructor(perSecond: number) {
    super(`the browser sent more than ${perSecond} websocket messages a second`);
    this.name = 'BrowserFloodError';
  }
}

/**
 * Websocket messages one browser connection may send per second, with a second's worth of burst.
 * Each message costs the gateway some work however small it is, so past the budget the
 * connection is closed (1008) instead of letting one link take the event loop from everyone.
 */
export class MessageBudget {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = perSecond;
    this.last = now();
  }

  /** Counts one message; throws BrowserFloodError once the budget is spent. */
  spend(): void {
    const t = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) * this.perSecond) / 1000);
    this.last = t;
    if (this.tokens < 1) throw new BrowserFloodError(this.perSecond);
    this.tokens -= 1;
  }
}
