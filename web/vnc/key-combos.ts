import { KEYS, functionKey, letterKey, type Key } from './keysyms.js';

export interface KeyCombo {
  /** Key caps as shown in the menu, e.g. ['Ctrl', 'Alt', 'F2']. */
  caps: string[];
  /** What it does, for people who do not know the shortcut. */
  purpose: string;
  keys: Key[];
}

interface KeySender {
  sendKey(keysym: number, code: string | null, down?: boolean): void;
}

/** Presses the keys in order and releases them in reverse, as fingers on a keyboard would. */
export function sendCombo(rfb: KeySender, keys: Key[]): void {
  for (const key of keys) rfb.sendKey(key.keysym, key.code, true);
  for (const key of [...keys].reverse()) rfb.sendKey(key.keysym, key.code, false);
}


/** Ctrl+Alt+F<n> switches the Linux virtual terminal (F1 to F12 in a compact grid). */
export const TERMINAL_SWITCH_KEYS = Array.from({ length: 12 }, (_, i) => ({
  label: `F${i + 1}`,
  keys: [KEYS.ControlLeft, KEYS.AltLeft, functionKey(i + 1)],
}));

export const KEY_COMBOS: KeyCombo[] = [
  { caps: ['Ctrl', 'Alt', 'Backspace'], purpose: 'Restart the graphical session', keys: [KEYS.ControlLeft, KEYS.AltLeft, KEYS.Backspace] },
  { caps: ['Alt', 'Tab'], purpose: 'Switch window', keys: [KEYS.AltLeft, KEYS.Tab] },
  { caps: ['Alt', 'F4'], purpose: 'Close window', keys: [KEYS.AltLeft, functionKey(4)] },
  { caps: ['Ctrl', 'Esc'], purpose: 'Start menu', keys: [KEYS.ControlLeft, KEYS.Escape] },
  { caps: ['Print Screen'], purpose: 'Screenshot', keys: [KEYS.PrintScreen] },
  { caps: ['Esc'], purpose: 'Escape', keys: [KEYS.Escape] },
  { caps: ['Tab'], purpose: 'Tab', keys: [KEYS.Tab] },
  { caps: ['Ctrl', 'C'], purpose: 'Interrupt / copy', keys: [KEYS.ControlLeft, letterKey('c')] },
  { caps: ['Ctrl', 'D'], purpose: 'End of input / log out', keys: [KEYS.ControlLeft, letterKey('d')] },
  { caps: ['Ctrl', 'Z'], purpose: 'Suspend / undo', keys: [KEYS.ControlLeft, letterKey('z')] },
];
