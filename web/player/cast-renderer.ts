// An asciicast drawn by xterm.js, as the live text console is.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { TERMINAL_FONT, TERMINAL_THEMES } from '../term/theme.js';
import type { Renderer } from './playback.js';
import type { CastTimeline } from './recordings.js';

export class CastRenderer implements Renderer {
  private readonly term: Terminal;

  constructor(
    screen: HTMLElement,
    private readonly timeline: CastTimeline,
  ) {
    this.term = new Terminal({ disableStdin: true, cursorBlink: false, fontFamily: TERMINAL_FONT, fontSize: 14, lineHeight: 1.15, scrollback: 5000, theme: TERMINAL_THEMES.dark });
    const fit = new FitAddon();
    this.term.loadAddon(fit);
    this.term.open(screen);
    // As wide as the window allows, as the live console was: the gateway does not see its size.
    fit.fit();
    new ResizeObserver(() => fit.fit()).observe(screen);
  }

  reset(): void {
    this.term.reset();
  }

  apply(index: number): void {
    const text = this.timeline.output[index];
    if (text !== undefined) this.term.write(text);
  }
}
