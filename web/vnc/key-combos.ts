import type { MessageKey } from '../shared/i18n.js';
import { KEYS, functionKey, letterKey, type Key } from './keysyms.js';

export interface KeyCombo {
  /** Key caps as shown in the menu, e.g. ['Ctrl', 'Alt', 'F2']; a catalog key where the cap is a word. */
  caps: Array<string | MessageKey>;
  /** What it does, for people who do not know the shortcut. */
  purpose: MessageKey;
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
  // Also a toolbar button, which narrow windows have no room for.
  { caps: ['Ctrl', 'Alt', 'Del'], purpose: 'keys.combo.ctrl_alt_del', keys: [KEYS.ControlLeft, KEYS.AltLeft, KEYS.Delete] },
  { caps: ['Ctrl', 'Alt', 'Backspace'], purpose: 'keys.combo.ctrl_alt_backspace', keys: [KEYS.ControlLeft, KEYS.AltLeft, KEYS.Backspace] },
  { caps: ['Alt', 'Tab'], purpose: 'keys.combo.alt_tab', keys: [KEYS.AltLeft, KEYS.Tab] },
  { caps: ['Alt', 'F4'], purpose: 'keys.combo.alt_f4', keys: [KEYS.AltLeft, functionKey(4)] },
  { caps: ['Ctrl', 'Esc'], purpose: 'keys.combo.ctrl_esc', keys: [KEYS.ControlLeft, KEYS.Escape] },
  { caps: ['keys.cap.print_screen'], purpose: 'keys.combo.print_screen', keys: [KEYS.PrintScreen] },
  { caps: ['Esc'], purpose: 'keys.combo.esc', keys: [KEYS.Escape] },
  { caps: ['Tab'], purpose: 'keys.combo.tab', keys: [KEYS.Tab] },
  { caps: ['Ctrl', 'C'], purpose: 'keys.combo.ctrl_c', keys: [KEYS.ControlLeft, letterKey('c')] },
  { caps: ['Ctrl', 'D'], purpose: 'keys.combo.ctrl_d', keys: [KEYS.ControlLeft, letterKey('d')] },
  { caps: ['Ctrl', 'Z'], purpose: 'keys.combo.ctrl_z', keys: [KEYS.ControlLeft, letterKey('z')] },
];
