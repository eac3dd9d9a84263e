// The character grid a terminal shows: just enough of an xterm to follow the fake shell's output
// (text, CR, LF, BS, TAB, and the CSI sequences for cursor position and erasing).

const ESC = '\x1b';

/** Rows that changed since the last call of takeDirtyRows(), as a closed range. */
export interface RowRange {
  first: number;
  last: number;
}

export class TerminalScreen {
  private grid: string[][];
  cursorX = 0;
  cursorY = 0;
  /** An escape sequence cut between two writes. */
  private pendingEscape = '';
  private dirty: RowRange | undefined;

  constructor(
    public cols: number,
    public rows: number,
  ) {
    this.grid = Array.from({ length: rows }, () => this.blankRow());
    this.markAll();
  }

  private blankRow(): string[] {
    return Array.from({ length: this.cols }, () => ' ');
  }

  private mark(row: number): void {
    this.dirty = this.dirty ? { first: Math.min(this.dirty.first, row), last: Math.max(this.dirty.last, row) } : { first: row, last: row };
  }

  private markAll(): void {
    this.dirty = { first: 0, last: this.rows - 1 };
  }

  /** The rows to redraw; the cursor's old and new rows are included. */
  takeDirtyRows(): RowRange | undefined {
    const taken = this.dirty;
    this.dirty = undefined;
    return taken;
  }

  /** Text of every row, trailing blanks and trailing empty rows dropped, joined by "\n". */
  text(): string {
    return this.grid
      .map((row) => row.join('').trimEnd())
      .join('\n')
      .replace(/\n+$/, '');
  }

  rowText(row: number): string {
    return this.grid[row]?.join('') ?? '';
  }

  /** A new size: the text keeps its place at the top left, unless the cursor would fall off the bottom. */
  resize(cols: number, rows: number): void {
    const scrolled = Math.max(0, this.cursorY - rows + 1);
    this.grid = Array.from({ length: rows }, (_, y) =>
      Array.from({ length: cols }, (_, x) => this.grid[y + scrolled]?.[x] ?? ' '),
    );
    this.cols = cols;
    this.rows = rows;
    this.cursorY -= scrolled;
    this.cursorX = Math.min(this.cursorX, cols - 1);
    this.markAll();
  }

  write(data: string): void {
    this.mark(this.cursorY);
    let text = this.pendingEscape + data;
    this.pendingEscape = '';
    while (text.length > 0) {
      const ch = text[0]!;
      if (ch === ESC) {
        // eslint-disable-next-line no-control-regex -- escape sequences start with the ESC control character
        const sequence = /^\x1b(?:\[[0-9;?]*[\x40-\x7e]|[^[])/.exec(text);
        if (!sequence) {
          // Incomplete: wait for the rest, unless it cannot be a sequence we know at all.
          // eslint-disable-next-line no-control-regex -- escape sequences start with the ESC control character
          if (/^\x1b(\[[0-9;?]*)?$/.test(text)) this.pendingEscape = text;
          return this.mark(this.cursorY);
        }
        this.escape(sequence[0]);
        text = text.slice(sequence[0].length);
        continue;
      }
      this.character(ch);
      text = text.slice(1);
    }
    this.mark(this.cursorY);
  }

  private character(ch: string): void {
    switch (ch) {
      case '\r':
        this.cursorX = 0;
        return;
      case '\n':
        this.lineFeed();
        return;
      case '\b':
        this.cursorX = Math.max(0, this.cursorX - 1);
        return;
      case '\t':
        this.cursorX = Math.min(this.cols - 1, (Math.floor(this.cursorX / 8) + 1) * 8);
        return;
      default:
        if (ch < ' ' || ch === '\x7f') return;
        if (this.cursorX >= this.cols) {
          this.cursorX = 0;
          this.lineFeed();
        }
        this.grid[this.cursorY]![this.cursorX] = ch;
        this.mark(this.cursorY);
        this.cursorX++;
    }
  }

  private lineFeed(): void {
    if (this.cursorY < this.rows - 1) {
      this.cursorY++;
      return;
    }
    this.grid.shift();
    this.grid.push(this.blankRow());
    this.markAll();
  }

  private escape(sequence: string): void {
    const final = sequence[sequence.length - 1];
    const params = sequence.slice(2, -1).split(';').map((p) => (p === '' ? undefined : Number(p)));
    switch (final) {
      case 'H':
      case 'f':
        this.cursorY = Math.min(this.rows - 1, Math.max(0, (params[0] ?? 1) - 1));
        this.cursorX = Math.min(this.cols - 1, Math.max(0, (params[1] ?? 1) - 1));
        return;
      case 'J':
        this.eraseDisplay(params[0] ?? 0);
        return;
      case 'K':
        this.eraseLine(params[0] ?? 0);
        return;
      default:
        // Colours, modes and the rest change nothing a test or viewer of this grid reads.
        return;
    }
  }

  private eraseLine(mode: number): void {
    const row = this.grid[this.cursorY]!;
    const [from, to] = mode === 1 ? [0, this.cursorX + 1] : mode === 2 ? [0, this.cols] : [this.cursorX, this.cols];
    row.fill(' ', from, to);
    this.mark(this.cursorY);
  }

  private eraseDisplay(mode: number): void {
    if (mode === 2 || mode === 3) {
      for (const row of this.grid) row.fill(' ');
      this.markAll();
      return;
    }
    this.eraseLine(mode);
    const rows = mode === 1 ? this.grid.slice(0, this.cursorY) : this.grid.slice(this.cursorY + 1);
    for (const row of rows) row.fill(' ');
    this.markAll();
  }
}
