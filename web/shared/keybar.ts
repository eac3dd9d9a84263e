import { toolbarButton } from './controls.js';
import { el } from './dom.js';
import { t, type MessageKey } from './i18n.js';
import type { Modifier, StickyModifiers } from './sticky.js';

/** The keys a phone's keyboard lacks, as the bar offers them; each console sends them its own way. */
export type BarKey = 'Escape' | 'Tab' | 'ArrowLeft' | 'ArrowUp' | 'ArrowDown' | 'ArrowRight' | `F${number}`;

const MODIFIER_CAPS: Record<Modifier, MessageKey> = { ctrl: 'key.ctrl', alt: 'key.alt', super: 'key.super' };
const KEYS: Array<{ key: BarKey; cap: string; label: MessageKey }> = [
  { key: 'Escape', cap: 'Esc', label: 'key.esc' },
  { key: 'Tab', cap: 'Tab', label: 'key.tab' },
  { key: 'ArrowLeft', cap: '←', label: 'key.left' },
  { key: 'ArrowUp', cap: '↑', label: 'key.up' },
  { key: 'ArrowDown', cap: '↓', label: 'key.down' },
  { key: 'ArrowRight', cap: '→', label: 'key.right' },
];
const FUNCTION_KEYS = Array.from({ length: 12 }, (_, i) => `F${i + 1}` as BarKey);

export interface KeyBar {
  root: HTMLElement;
  /** Shown with the on-screen keyboard; hidden again with it. */
  setVisible(visible: boolean): void;
  readonly visible: boolean;
}

/**
 * A button of the bar never takes the focus: the on-screen keyboard stays up while the bar is
 * used, and the next typed key still goes where the user was typing.
 */
function barButton(text: string, label: string, extra: Record<string, string> = {}): HTMLButtonElement {
  // Caps that are words name themselves; only symbols (the arrows) need a name of their own.
  const named: Record<string, string> = /\p{L}/u.test(text) ? {} : { 'aria-label': label };
  const button = el('button', { type: 'button', class: 'keybar-key', tabindex: '-1', title: label, ...named, ...extra }, text);
  button.addEventListener('pointerdown', (event) => event.preventDefault());
  button.addEventListener('mousedown', (event) => event.preventDefault());
  return button;
}

/** The bar of extra keys under the screen: sticky modifiers, Esc, Tab, arrows, and F1 to F12 behind "Fn". */
export function keyBar(opts: { modifiers: Modifier[]; sticky: StickyModifiers; press: (key: BarKey) => void }): KeyBar {
  const modifierButtons = opts.modifiers.map((modifier) => {
    const button = barButton(t(MODIFIER_CAPS[modifier]), t('keybar.modifier', { key: t(MODIFIER_CAPS[modifier]) }), {
      'aria-pressed': 'false',
      'data-modifier': modifier,
    });
    button.classList.add('keybar-modifier');
    button.addEventListener('click', () => opts.sticky.toggle(modifier));
    return button;
  });
  opts.sticky.onChange(() => {
    for (const button of modifierButtons) button.setAttribute('aria-pressed', String(opts.sticky.has(button.dataset.modifier as Modifier)));
  });
  const keyButtons = KEYS.map(({ key, cap, label }) => {
    const button = barButton(cap, t(label), { 'data-key': key });
    button.addEventListener('click', () => opts.press(key));
    return button;
  });
  const functionRow = el('div', { class: 'keybar-row keybar-fkeys', role: 'group', 'aria-label': t('keybar.function_keys'), hidden: true });
  for (const key of FUNCTION_KEYS) {
    const button = barButton(key, key, { 'data-key': key });
    button.addEventListener('click', () => opts.press(key));
    functionRow.append(button);
  }
  const fn = barButton(t('key.fn'), t('keybar.function_keys'), { 'aria-pressed': 'false', 'aria-expanded': 'false' });
  fn.classList.add('keybar-fn');
  fn.addEventListener('click', () => {
    functionRow.hidden = !functionRow.hidden;
    fn.setAttribute('aria-pressed', String(!functionRow.hidden));
    fn.setAttribute('aria-expanded', String(!functionRow.hidden));
  });
  const root = el(
    'div',
    { class: 'keybar', role: 'toolbar', 'aria-label': t('keybar.label'), hidden: true },
    el('div', { class: 'keybar-row' }, ...modifierButtons, ...keyButtons, fn),
    functionRow,
  );
  return {
    root,
    get visible() {
      return !root.hidden;
    },
    setVisible(visible) {
      root.hidden = !visible;
    },
  };
}

/**
 * The toolbar's keyboard button: shows the key bar and puts the focus where typing goes, which is
 * what brings up a phone's on-screen keyboard (it must happen in the tap itself). Pressed again,
 * it hides both.
 */
export function keyboardButton(bar: KeyBar, typing: { focus(): void; blur(): void }): HTMLButtonElement {
  const button = toolbarButton({ label: t('toolbar.keyboard'), icon: 'keyboard', hint: t('toolbar.keyboard.hint'), iconOnly: true, needsConnection: true });
  button.classList.add('tb-keyboard');
  button.setAttribute('aria-pressed', 'false');
  button.addEventListener('click', () => {
    const show = !bar.visible;
    bar.setVisible(show);
    button.setAttribute('aria-pressed', String(show));
    if (show) typing.focus();
    else typing.blur();
  });
  return button;
}
