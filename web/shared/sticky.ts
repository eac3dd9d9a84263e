export type Modifier = 'ctrl' | 'alt' | 'super';

/**
 * Modifiers tapped on the key bar: each applies to the next key pressed, however it is typed (the
 * on-screen keyboard, a hardware keyboard, the bar itself), and is released after it. Tapping an
 * armed modifier again disarms it. Phones have no Ctrl or Alt; this is how Ctrl+C gets typed.
 */
export class StickyModifiers {
  private readonly armed = new Set<Modifier>();
  private readonly listeners = new Set<() => void>();

  has(modifier: Modifier): boolean {
    return this.armed.has(modifier);
  }

  toggle(modifier: Modifier): void {
    if (!this.armed.delete(modifier)) this.armed.add(modifier);
    this.changed();
  }

  /** The armed modifiers, for the key being pressed now; they are released with it. */
  take(): Modifier[] {
    const taken = [...this.armed];
    if (taken.length === 0) return taken;
    this.armed.clear();
    this.changed();
    return taken;
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
