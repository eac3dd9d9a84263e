// X keysyms from a VNC viewer turned into the bytes a terminal would send, as vncterm does.

const XK_CONTROL_L = 0xffe3;
const XK_CONTROL_R = 0xffe4;

/** Keys that send a fixed sequence (xterm's normal cursor mode). */
const SPECIAL_KEYS = new Map<number, string>([
  [0xff08, '\x7f'], // BackSpace
  [0xff09, '\t'], // Tab
  [0xff0d, '\r'], // Return
  [0xff8d, '\r'], // KP_Enter
  [0xff1b, '\x1b'], // Escape
  [0xff51, '\x1b[D'], // Left
  [0xff52, '\x1b[A'], // Up
  [0xff53, '\x1b[C'], // Right
  [0xff54, '\x1b[B'], // Down
  [0xff50, '\x1b[H'], // Home
  [0xff57, '\x1b[F'], // End
  [0xffff, '\x1b[3~'], // Delete
]);

export class KeyTranslator {
  private readonly controlsDown = new Set<number>();

  /** The bytes a key press sends; undefined for keys that send nothing (modifiers, function keys). */
  press(keysym: number): string | undefined {
    if (keysym === XK_CONTROL_L || keysym === XK_CONTROL_R) {
      this.controlsDown.add(keysym);
      return undefined;
    }
    const special = SPECIAL_KEYS.get(keysym);
    if (special !== undefined) return special;
    const printable = (keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff);
    if (!printable) return undefined;
    const ch = String.fromCharCode(keysym);
    // Ctrl with a letter or one of @[\]^_ gives the C0 control code, as on any terminal.
    if (this.controlsDown.size > 0 && /[@-_a-z]/i.test(ch)) return String.fromCharCode(ch.toUpperCase().charCodeAt(0) & 0x1f);
    return ch;
  }

  release(keysym: number): void {
    this.controlsDown.delete(keysym);
  }
}
