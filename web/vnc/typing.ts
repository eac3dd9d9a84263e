import { el } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import type { BarKey } from '../shared/keybar.js';
import type { Modifier, StickyModifiers } from '../shared/sticky.js';
import { isModifierKeysym, KEYS, keystrokesFor, namedKey, type Key } from './keysyms.js';
import { pressStroke, type KeySender } from './typist.js';

const MODIFIER_KEYS: Record<Modifier, Key> = { ctrl: KEYS.ControlLeft, alt: KEYS.AltLeft, super: KEYS.SuperLeft };

/**
 * Makes every key the connection sends (noVNC's own keyboard handling, the on-screen keyboard,
 * the bar, the Keys menu) carry the armed sticky modifiers: pressed before the next key that is
 * not a modifier itself, released after it.
 */
export function applyStickyModifiers(rfb: KeySender, sticky: StickyModifiers): void {
  const send = rfb.sendKey.bind(rfb);
  const held = new Map<number, Key[]>();
  rfb.sendKey = (keysym, code, down) => {
    if (down === undefined) {
      rfb.sendKey(keysym, code, true);
      rfb.sendKey(keysym, code, false);
      return;
    }
    if (isModifierKeysym(keysym)) {
      send(keysym, code, down);
      return;
    }
    if (down) {
      const modifiers = sticky.take().map((m) => MODIFIER_KEYS[m]);
      for (const m of modifiers) send(m.keysym, m.code, true);
      if (modifiers.length > 0) held.set(keysym, modifiers);
      send(keysym, code, true);
      return;
    }
    send(keysym, code, false);
    const modifiers = held.get(keysym);
    held.delete(keysym);
    for (const m of [...(modifiers ?? [])].reverse()) send(m.keysym, m.code, false);
  };
}

export function barKey(key: BarKey): Key {
  return namedKey(key) ?? KEYS.Escape;
}

/**
 * What a phone's keyboard types must come from a text field: it only shows for one. The field
 * holds filler text, so Backspace has something to delete even before anything was typed; each
 * change to its text is sent as the keys that make that change (deleted characters as
 * Backspace, new ones as their keys). Keyboards that report real keys (hardware ones, and some
 * on-screen ones for Enter or Backspace) have those keys sent as such.
 */
const FILLER = '_'.repeat(64);

export interface TypingInput {
  element: HTMLTextAreaElement;
  focus(): void;
  blur(): void;
}

export function typingInput(sender: () => KeySender | null): TypingInput {
  const input = el('textarea', {
    class: 'typing-input',
    autocapitalize: 'off',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-label': t('keyboard.input'),
    rows: '1',
  });
  input.setAttribute('autocorrect', 'off');
  let last = FILLER;
  const reset = (): void => {
    input.value = FILLER;
    input.setSelectionRange(FILLER.length, FILLER.length);
    last = FILLER;
  };
  const press = (key: Key, modifiers: Key[] = []): void => {
    const target = sender();
    if (!target) return;
    for (const m of modifiers) target.sendKey(m.keysym, m.code, true);
    target.sendKey(key.keysym, key.code, true);
    target.sendKey(key.keysym, key.code, false);
    for (const m of [...modifiers].reverse()) target.sendKey(m.keysym, m.code, false);
  };
  const type = (text: string): void => {
    const target = sender();
    if (!target) return;
    for (const stroke of keystrokesFor(text)) pressStroke(target, stroke);
  };

  input.addEventListener('keydown', (event) => {
    // 229/"Unidentified": an on-screen keyboard composing text; its input event tells what it was.
    if (event.isComposing || event.keyCode === 229 || event.key === 'Unidentified') return;
    const held: Key[] = [];
    if (event.ctrlKey) held.push(KEYS.ControlLeft);
    if (event.altKey) held.push(KEYS.AltLeft);
    if (event.metaKey) held.push(KEYS.SuperLeft);
    const key = namedKey(event.key);
    if (key) {
      event.preventDefault();
      press(key, event.shiftKey ? [...held, KEYS.ShiftLeft] : held);
      return;
    }
    if (held.length > 0 && [...event.key].length === 1) {
      event.preventDefault();
      const stroke = keystrokesFor(event.key)[0];
      if (stroke) press(stroke.key, stroke.shift ? [...held, KEYS.ShiftLeft] : held);
    }
  });
  input.addEventListener('input', () => {
    const now = [...input.value];
    const before = [...last];
    let same = 0;
    while (same < now.length && same < before.length && now[same] === before[same]) same++;
    for (let i = before.length - same; i > 0; i--) press(KEYS.Backspace);
    type(now.slice(same).join(''));
    last = input.value;
    // A word being composed must stay in the field until it is committed.
    if (!composing && (input.value.length < FILLER.length / 2 || input.value.length > FILLER.length * 2)) reset();
  });
  let composing = false;
  input.addEventListener('compositionstart', () => (composing = true));
  input.addEventListener('compositionend', () => (composing = false));
  input.addEventListener('focus', reset);
  reset();
  return {
    element: input,
    focus: () => input.focus({ preventScroll: true }),
    blur: () => input.blur(),
  };
}
