// Play, pause, seek and speed over a timeline of events; a renderer applies them.

export interface Renderer {
  /** Back to the recording's first moment (seeking backwards replays from there). */
  reset(): void;
  apply(index: number): void;
}

export type PlaybackState = 'paused' | 'playing' | 'ended';

/** How often the position is reported while nothing else happens (the seek bar moves). */
const TICK_MS = 200;

export class Playback {
  private next = 0;
  private position = 0;
  private playing = false;
  private speedFactor = 1;
  private anchor = { wall: 0, position: 0 };
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly times: readonly number[],
    readonly durationMs: number,
    private readonly renderer: Renderer,
    private readonly onChange: (position: number, state: PlaybackState) => void,
  ) {
    renderer.reset();
    this.report();
  }

  get speed(): number {
    return this.speedFactor;
  }

  get state(): PlaybackState {
    if (this.playing) return 'playing';
    return this.position >= this.durationMs ? 'ended' : 'paused';
  }

  play(): void {
    if (this.playing) return;
    if (this.position >= this.durationMs) this.seek(0);
    this.playing = true;
    this.anchor = { wall: performance.now(), position: this.position };
    this.tick();
  }

  pause(): void {
    if (!this.playing) return;
    this.position = this.now();
    this.playing = false;
    clearTimeout(this.timer);
    this.report();
  }

  setSpeed(speed: number): void {
    if (this.playing) this.anchor = { wall: performance.now(), position: this.now() };
    this.speedFactor = speed;
  }

  /** To `ms`: forwards applies what lies between, backwards replays from the start. */
  seek(ms: number): void {
    const target = Math.max(0, Math.min(this.durationMs, ms));
    if (target < this.position) {
      this.renderer.reset();
      this.next = 0;
    }
    this.applyUntil(target);
    this.position = target;
    if (this.playing) {
      this.anchor = { wall: performance.now(), position: target };
      clearTimeout(this.timer);
      this.tick();
    } else {
      this.report();
    }
  }

  private now(): number {
    return Math.min(this.durationMs, this.anchor.position + (performance.now() - this.anchor.wall) * this.speedFactor);
  }

  private applyUntil(ms: number): void {
    while (this.next < this.times.length && (this.times[this.next] ?? Infinity) <= ms) this.renderer.apply(this.next++);
  }

  private readonly tick = (): void => {
    if (!this.playing) return;
    this.position = this.now();
    this.applyUntil(this.position);
    if (this.position >= this.durationMs) {
      this.applyUntil(Infinity);
      this.playing = false;
      this.report();
      return;
    }
    this.report();
    const nextAt = this.times[this.next] ?? this.durationMs;
    const wait = Math.max(0, Math.min(TICK_MS, (nextAt - this.position) / this.speedFactor));
    this.timer = setTimeout(this.tick, wait);
  };

  private report(): void {
    this.onChange(this.position, this.state);
  }
}
