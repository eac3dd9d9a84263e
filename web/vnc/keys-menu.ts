import { toolbarButton } from '../shared/controls.js';
import { el } from '../shared/dom.js';
import { t, type MessageKey } from '../shared/i18n.js';
import { dropdownMenu } from '../shared/menu.js';
import type { Key } from './keysyms.js';
import { KEY_COMBOS, TERMINAL_SWITCH_KEYS } from './key-combos.js';

/** A cap's words where it has some (Print Screen), else the key's name as printed on keyboards. */
const capText = (cap: string): string => (cap.includes('.') ? t(cap as MessageKey) : cap);

function keyCaps(caps: string[]): HTMLElement {
  const row = el('span', { class: 'keycaps' });
  caps.forEach((cap, i) => {
    if (i > 0) row.append(el('span', { class: 'keycap-plus', 'aria-hidden': 'true' }, '+'));
    row.append(el('kbd', {}, capText(cap)));
  });
  return row;
}

/** The "Keys" menu: combinations a browser would keep for itself or that have no key on the device. */
export function keysMenu(send: (keys: Key[]) => void, onClose: () => void): HTMLElement {
  const button = toolbarButton({ label: t('toolbar.keys'), icon: 'command', hint: t('toolbar.keys.hint'), menu: true, needsConnection: true });
  const menu = dropdownMenu(button, 'menu--keys', onClose);

  const terminalGrid = el('div', { class: 'fkey-grid', role: 'group', 'aria-label': t('keys.switch_terminal.group') });
  for (const { label, keys } of TERMINAL_SWITCH_KEYS) {
    const item = el('button', { type: 'button', class: 'fkey', role: 'menuitem', title: `Ctrl+Alt+${label}` }, label);
    item.addEventListener('click', () => send(keys));
    terminalGrid.append(item);
  }

  const comboItems = KEY_COMBOS.map((combo) => {
    const item = el(
      'button',
      { type: 'button', class: 'menu-item', role: 'menuitem' },
      keyCaps(combo.caps),
      el('span', { class: 'menu-hint' }, t(combo.purpose)),
    );
    item.addEventListener('click', () => send(combo.keys));
    return item;
  });

  menu.panel.append(
    el('div', { class: 'menu-heading' }, el('span', {}, t('keys.switch_terminal')), keyCaps(['Ctrl', 'Alt', 'F…'])),
    terminalGrid,
    el('div', { class: 'menu-separator', role: 'separator' }),
    ...comboItems,
  );
  return menu.root;
}
