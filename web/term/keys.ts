import type { BarKey } from '../shared/keybar.js';
import type { Modifier } from '../shared/sticky.js';

const ESC = '\x1b';
const ARROWS: Partial<Record<BarKey, string>> = { ArrowUp: 'A', ArrowDown: 'B', ArrowRight: 'C', ArrowLeft: 'D' };
/** xterm's function keys: F1 to F4 as SS3 P to S, the rest as CSI <n> ~. */
const FUNCTION_CODES = [0, 0, 0, 0, 15, 17, 18, 19, 20, 21, 23, 24];

/** xterm's modifier parameter: 1 + Shift 1 + Alt 2 + Ctrl 4. */
function modifierParameter(modifiers: Modifier[]): number {
  return 1 + (modifiers.includes('alt') ? 2 : 0) + (modifiers.includes('ctrl') ? 4 : 0);
}

/**
 * What a key of the bar sends to the terminal, as xterm (TERM=xterm-256color) encodes it:
 * arrows follow the application-cursor mode the program asked for, and a modifier becomes the
 * `1;<m>` parameter; Esc and Tab with Alt get the ESC prefix.
 */
export function barSequence(key: BarKey, modifiers: Modifier[], applicationCursor: boolean): string {
  const m = modifierParameter(modifiers);
  const arrow = ARROWS[key];
  if (arrow) return m > 1 ? `${ESC}[1;${m}${arrow}` : `${applicationCursor ? `${ESC}O` : `${ESC}[`}${arrow}`;
  const fn = /^F(\d+)$/.exec(key);
  if (fn) {
    const n = Number(fn[1]);
    if (n <= 4) return m > 1 ? `${ESC}[1;${m}${'PQRS'[n - 1]}` : `${ESC}O${'PQRS'[n - 1]}`;
    return m > 1 ? `${ESC}[${FUNCTION_CODES[n - 1]};${m}~` : `${ESC}[${FUNCTION_CODES[n - 1]}~`;
  }
  const plain = key === 'Tab' ? '\t' : ESC;
  return modifiers.includes('alt') ? `${ESC}${plain}` : plain;
}

/**
 * Typed text with the sticky modifiers applied to its first character, as a terminal keyboard
 * would send it: Ctrl turns a letter (and @ [ \ ] ^ _ ?) into its control character, Alt puts ESC before it.
 */
export function withModifiers(data: string, modifiers: Modifier[]): string {
  if (modifiers.length === 0 || data === '') return data;
  const [first = '', ...rest] = [...data];
  let char = first;
  if (modifiers.includes('ctrl')) {
    const code = first.toUpperCase().charCodeAt(0);
    if (first === '?') char = '\x7f';
    else if (first === ' ') char = '\x00';
    else if (code >= 0x40 && code <= 0x5f) char = String.fromCharCode(code & 0x1f);
  }
  return `${modifiers.includes('alt') ? ESC : ''}${char}${rest.join('')}`;
}
