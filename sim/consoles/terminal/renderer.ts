// Draws a terminal's character grid into a VNC framebuffer, as vncterm does with its 8x16 font.
import type { Framebuffer } from '../framebuffer.js';
import type { TerminalScreen } from './screen.js';

/** vncterm's character cell: width and height in pixels. */
export const CELL_PIXEL_WIDTH = 8;
export const CELL_PIXEL_HEIGHT = 16;
export const TERMINAL_BACKGROUND = 0x000000;
const TERMINAL_FOREGROUND = 0xc0c0c0;
const CURSOR_HEIGHT = 2;

export class TerminalRenderer {
  constructor(
    private readonly screen: TerminalScreen,
    private readonly framebuffer: Framebuffer,
  ) {}

  /** Redraws the rows that changed and tells the viewers. */
  render(): void {
    const rows = this.screen.takeDirtyRows();
    if (!rows) return;
    const fb = this.framebuffer;
    for (let row = rows.first; row <= rows.last; row++) {
      const top = row * CELL_PIXEL_HEIGHT;
      fb.fill({ x: 0, y: top, w: fb.width, h: CELL_PIXEL_HEIGHT }, TERMINAL_BACKGROUND);
      const text = this.screen.rowText(row);
      for (let col = 0; col < text.length && col * CELL_PIXEL_WIDTH < fb.width; col++) {
        if (text[col] !== ' ') fb.drawGlyph(text[col]!, col * CELL_PIXEL_WIDTH + 1, top + 1, 1, 2, TERMINAL_FOREGROUND);
      }
      if (row === this.screen.cursorY) {
        fb.fill({ x: this.screen.cursorX * CELL_PIXEL_WIDTH, y: top + CELL_PIXEL_HEIGHT - CURSOR_HEIGHT, w: CELL_PIXEL_WIDTH, h: CURSOR_HEIGHT }, TERMINAL_FOREGROUND);
      }
    }
    fb.changed({ x: 0, y: rows.first * CELL_PIXEL_HEIGHT, w: fb.width, h: (rows.last - rows.first + 1) * CELL_PIXEL_HEIGHT });
  }
}
