/** One physical key: its X11 keysym and its KeyboardEvent.code (noVNC sends QEMU a scancode from the code). */
export interface Key {
  keysym: number;
  code: string | null;
}

export const KEYS = {
  ControlLeft: { keysym: 0xffe3, code: 'ControlLeft' },
  AltLeft: { keysym: 0xffe9, code: 'AltLeft' },
  ShiftLeft: { keysym: 0xffe1, code: 'ShiftLeft' },
  Delete: { keysym: 0xffff, code: 'Delete' },
  Backspace: { keysym: 0xff08, code: 'Backspace' },
  Tab: { keysym: 0xff09, code: 'Tab' },
  Enter: { keysym: 0xff0d, code: 'Enter' },
  Escape: { keysym: 0xff1b, code: 'Escape' },
  PrintScreen: { keysym: 0xff61, code: 'PrintScreen' },
  SuperLeft: { keysym: 0xffeb, code: 'MetaLeft' },
  ArrowLeft: { keysym: 0xff51, code: 'ArrowLeft' },
  ArrowUp: { keysym: 0xff52, code: 'ArrowUp' },
  ArrowRight: { keysym: 0xff53, code: 'ArrowRight' },
  ArrowDown: { keysym: 0xff54, code: 'ArrowDown' },
  Home: { keysym: 0xff50, code: 'Home' },
  End: { keysym: 0xff57, code: 'End' },
  PageUp: { keysym: 0xff55, code: 'PageUp' },
  PageDown: { keysym: 0xff56, code: 'PageDown' },
  Insert: { keysym: 0xff63, code: 'Insert' },
} satisfies Record<string, Key>;

/** Shift, Control, Meta, Alt, Super, Hyper (left and right), Caps and Num Lock, AltGr: never a key of their own. */
export function isModifierKeysym(keysym: number): boolean {
  return (keysym >= 0xffe1 && keysym <= 0xffee) || keysym === 0xff7f || keysym === 0xfe03;
}

const NAMED_KEYS = ['Enter', 'Backspace', 'Tab', 'Escape', 'Delete', 'Insert', 'Home', 'End', 'PageUp', 'PageDown', 'ArrowLeft', 'ArrowUp', 'ArrowRight', 'ArrowDown'] as const;

/** A named key of KeyboardEvent.key (Enter, ArrowUp, F5, ...): one key, not text. */
export function namedKey(name: string): Key | undefined {
  if ((NAMED_KEYS as readonly string[]).includes(name)) return KEYS[name as (typeof NAMED_KEYS)[number]];
  const fn = /^F([1-9]|1[0-2])$/.exec(name);
  return fn ? functionKey(Number(fn[1])) : undefined;
}

export function functionKey(n: number): Key {
  return { keysym: 0xffbe + n - 1, code: `F${n}` };
}

/** A printable ASCII character's key on a US keyboard; its keysym is its code point. */
export function letterKey(char: string): Key {
  const codePoint = char.codePointAt(0) ?? 0;
  return { keysym: codePoint, code: usLayoutKey(char)?.code ?? null };
}

interface LayoutKey {
  code: string;
  shift: boolean;
}

const US_SYMBOL_ROWS: Array<[string, string, string]> = [
  // [code, unshifted, shifted]
  ['Backquote', '`', '~'],
  ['Minus', '-', '_'],
  ['Equal', '=', '+'],
  ['BracketLeft', '[', '{'],
  ['BracketRight', ']', '}'],
  ['Backslash', '\\', '|'],
  ['Semicolon', ';', ':'],
  ['Quote', "'", '"'],
  ['Comma', ',', '<'],
  ['Period', '.', '>'],
  ['Slash', '/', '?'],
  ['Digit1', '1', '!'],
  ['Digit2', '2', '@'],
  ['Digit3', '3', '#'],
  ['Digit4', '4', '$'],
  ['Digit5', '5', '%'],
  ['Digit6', '6', '^'],
  ['Digit7', '7', '&'],
  ['Digit8', '8', '*'],
  ['Digit9', '9', '('],
  ['Digit0', '0', ')'],
];

const US_LAYOUT: ReadonlyMap<string, LayoutKey> = (() => {
  const layout = new Map<string, LayoutKey>([[' ', { code: 'Space', shift: false }]]);
  for (let c = 0; c < 26; c++) {
    const lower = String.fromCharCode(0x61 + c);
    const code = `Key${lower.toUpperCase()}`;
    layout.set(lower, { code, shift: false });
    layout.set(lower.toUpperCase(), { code, shift: true });
  }
  for (const [code, plain, shifted] of US_SYMBOL_ROWS) {
    layout.set(plain, { code, shift: false });
    layout.set(shifted, { code, shift: true });
  }
  return layout;
})();

function usLayoutKey(char: string): LayoutKey | undefined {
  return US_LAYOUT.get(char);
}

/**
 * The characters of `text` a console cannot be sent as keys: not on the US keyboard the guest is
 * assumed to have (QEMU maps keys, not characters). Each is named once, in order of appearance.
 */
export function untypeable(text: string): string[] {
  const found = new Set<string>();
  for (const char of text.replace(/\r\n?/g, '\n')) {
    const codePoint = char.codePointAt(0) ?? 0;
    if (char === '\n' || char === '\t' || codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0)) continue;
    if (!usLayoutKey(char)) found.add(char);
  }
  return [...found];
}

/** One character to type: the key, and whether Shift must be held (the guest sees key codes, not text). */
export interface Keystroke {
  key: Key;
  shift: boolean;
}

/**
 * The keystrokes that type `text` on the guest. Consoles have no clipboard, so pasting means typing:
 * line breaks become Enter, US-keyboard characters are sent as their physical keys with Shift as
 * needed, and anything else as a bare keysym (Latin-1 keysyms equal the code point, the rest are
 * Unicode keysyms 0x01000000 + code point). Other control characters are dropped.
 */
export function keystrokesFor(text: string): Keystroke[] {
  const strokes: Keystroke[] = [];
  for (const char of text.replace(/\r\n?/g, '\n')) {
    if (char === '\n') {
      strokes.push({ key: KEYS.Enter, shift: false });
      continue;
    }
    if (char === '\t') {
      strokes.push({ key: KEYS.Tab, shift: false });
      continue;
    }
    const codePoint = char.codePointAt(0) ?? 0;
    if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint < 0xa0)) continue;
    const layoutKey = usLayoutKey(char);
    if (layoutKey) {
      strokes.push({ key: { keysym: codePoint, code: layoutKey.code }, shift: layoutKey.shift });
    } else {
      strokes.push({ key: { keysym: codePoint <= 0xff ? codePoint : 0x01000000 + codePoint, code: null }, shift: false });
    }
  }
  return strokes;
}
