// The picture the builtin console shows: the guest's name, what it is, and the text typed so far.
import { CELL_HEIGHT, CELL_WIDTH, Framebuffer, type Region } from './framebuffer.js';
import type { GuestInfo } from './index.js';
import type { KeyLog } from './key-log.js';

export const SCREEN_WIDTH = 800;
export const SCREEN_HEIGHT = 600;
export const BACKGROUND = 0x101820;
const TITLE_COLOUR = 0xf0f0f0;
const CAPTION_COLOUR = 0x8098b0;
const TEXT_COLOUR = 0x60e080;

const MARGIN = 24;
const TITLE_SCALE = 5;
const CAPTION_SCALE = 2;
const TEXT_SCALE = 3;
const TEXT_TOP = MARGIN + CELL_HEIGHT * TITLE_SCALE + 16 + CELL_HEIGHT * CAPTION_SCALE + 24;

/** Where typed text is drawn; redrawn as a whole when the text changes. */
export const TEXT_AREA: Region = { x: 0, y: TEXT_TOP, w: SCREEN_WIDTH, h: SCREEN_HEIGHT - TEXT_TOP };

export const TEXT_COLUMNS = Math.floor((SCREEN_WIDTH - 2 * MARGIN) / (CELL_WIDTH * TEXT_SCALE));
export const TEXT_ROWS = Math.floor((TEXT_AREA.h - MARGIN) / (CELL_HEIGHT * TEXT_SCALE));

/**
 * Screen lines for the text: wrapped at the screen width, the newest that fit, with a cursor.
 * Only the tail is wrapped, from the start of the last line (given, so not searched for: typing
 * without Enter makes one line as long as all that was typed), back to earlier lines only while
 * rows are left; otherwise every key would cost more than the one before, for every viewer.
 */
export function visibleLines(text: string, lastLineStart = text.lastIndexOf('\n') + 1): string[] {
  // The cursor is one more character of the last line.
  const slice = (from: number, to: number) => (to > text.length ? `${text.slice(from)}_` : text.slice(from, to));
  const rows: string[] = [];
  let end = text.length + 1;
  let start = lastLineStart;
  for (;;) {
    const chunks = Math.max(1, Math.ceil((end - start) / TEXT_COLUMNS));
    for (let i = chunks - 1; i >= 0 && rows.length < TEXT_ROWS; i--) rows.push(slice(start + i * TEXT_COLUMNS, Math.min(end, start + (i + 1) * TEXT_COLUMNS)));
    if (start === 0 || rows.length === TEXT_ROWS) break;
    end = start - 1;
    start = end === 0 ? 0 : text.lastIndexOf('\n', end - 1) + 1;
  }
  return rows.reverse();
}

export class GuestScreen {
  readonly framebuffer = new Framebuffer(SCREEN_WIDTH, SCREEN_HEIGHT);
  private readonly unsubscribe: () => void;

  constructor(
    guest: GuestInfo,
    private readonly keys: KeyLog,
  ) {
    const fb = this.framebuffer;
    fb.fill(fb.bounds, BACKGROUND);
    const maxTitle = Math.floor((SCREEN_WIDTH - 2 * MARGIN) / (CELL_WIDTH * TITLE_SCALE));
    fb.drawText(guest.name.slice(0, maxTitle), MARGIN, MARGIN, TITLE_SCALE, TITLE_COLOUR);
    const kind = guest.type === 'qemu' ? 'VM' : 'CT';
    fb.drawText(`${kind} ${guest.vmid} on ${guest.node} - Proxmox VE simulator`, MARGIN, MARGIN + CELL_HEIGHT * TITLE_SCALE + 16, CAPTION_SCALE, CAPTION_COLOUR);
    this.drawText();
    this.unsubscribe = keys.onTextChange(() => {
      this.drawText();
      fb.changed(TEXT_AREA);
    });
  }

  dispose(): void {
    this.unsubscribe();
  }

  private drawText(): void {
    this.framebuffer.fill(TEXT_AREA, BACKGROUND);
    visibleLines(this.keys.text, this.keys.lastLineStart).forEach((line, row) => {
      this.framebuffer.drawText(line, MARGIN, TEXT_TOP + row * CELL_HEIGHT * TEXT_SCALE, TEXT_SCALE, TEXT_COLOUR);
    });
  }
}
