// What a guest's keyboard received, kept so tests (and the simulator's API) can read it back.

const XK_BACKSPACE = 0xff08;
const XK_RETURN = 0xff0d;
const XK_KP_ENTER = 0xff8d;

export class KeyLog {
  readonly keysyms: number[] = [];
  /** Printable latin-1 characters typed, "\n" for Enter, with BackSpace applied. */
  text = '';
  /** Where the text's last line starts: a screen shows the newest lines, and finding it in the whole text on every key would cost more with every key. */
  lastLineStart = 0;
  private readonly listeners = new Set<() => void>();

  /** Records a key press (releases are not recorded). */
  press(keysym: number): void {
    this.keysyms.push(keysym);
    if ((keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff)) this.text += String.fromCharCode(keysym);
    else if (keysym === XK_RETURN || keysym === XK_KP_ENTER) {
      this.text += '\n';
      this.lastLineStart = this.text.length;
    } else if (keysym === XK_BACKSPACE) {
      this.text = this.text.slice(0, -1);
      this.lastLineStart = Math.min(this.lastLineStart, this.text.lastIndexOf('\n') + 1);
    } else return;
    for (const listener of this.listeners) listener();
  }

  /** Called whenever the text changes. */
  onTextChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): { keysyms: number[]; text: string } {
    return { keysyms: [...this.keysyms], text: this.text };
  }
}

/** Every guest's key log, shared by the console servers that take keys (QEMU, builtin, vncterm). */
export class KeyLogs {
  private readonly logs = new Map<number, KeyLog>();

  of(vmid: number): KeyLog {
    let log = this.logs.get(vmid);
    if (!log) this.logs.set(vmid, (log = new KeyLog()));
    return log;
  }
}
