import { toolbarButton } from './controls.js';
import { el } from './dom.js';
import { t, type MessageKey } from './i18n.js';
import { icon } from './icons.js';
import { FONT_SIZES, onSettings, settings, updateSettings, type Settings } from './settings.js';

type Field = 'theme' | 'scaling' | 'quality' | 'compression' | 'dotCursor' | 'fontSize';

function labelled(id: string, label: MessageKey, control: HTMLElement, hint?: MessageKey): HTMLElement {
  return el(
    'div',
    { class: 'setting' },
    el('label', { for: id, class: 'setting-label' }, t(label)),
    control,
    hint ? el('p', { class: 'setting-hint', id: `${id}-hint` }, t(hint)) : null,
  );
}

function choice<K extends 'theme' | 'scaling'>(key: K, options: Array<Settings[K]>): { control: HTMLSelectElement; show(s: Settings): void } {
  const control = el('select', { id: `setting-${key}`, class: 'setting-select' });
  for (const value of options) control.append(el('option', { value }, t(`settings.${key}.${value}` as MessageKey)));
  control.addEventListener('change', () => updateSettings({ [key]: control.value } as Partial<Settings>));
  return { control, show: (s) => (control.value = s[key]) };
}

function range(key: 'quality' | 'compression' | 'fontSize', min: number, max: number): { control: HTMLElement; show(s: Settings): void } {
  const input = el('input', { id: `setting-${key}`, type: 'range', min: String(min), max: String(max), step: '1', class: 'setting-range' });
  const value = el('output', { for: `setting-${key}`, class: 'setting-value' });
  input.addEventListener('input', () => updateSettings({ [key]: Number(input.value) } as Partial<Settings>));
  return {
    control: el('div', { class: 'setting-range-row' }, input, value),
    show: (s) => {
      input.value = String(s[key]);
      value.textContent = String(s[key]);
    },
  };
}

/**
 * The settings button and its dialog: each change applies at once and is remembered in this
 * browser. `fields` are the ones that mean something on this console.
 */
export function settingsButton(fields: Field[], onClose: () => void): HTMLButtonElement {
  const shows: Array<(s: Settings) => void> = [];
  const rows: HTMLElement[] = [];
  for (const field of fields) {
    if (field === 'theme' || field === 'scaling') {
      const made = field === 'theme' ? choice('theme', ['system', 'dark', 'light']) : choice('scaling', ['scale', 'remote', 'none']);
      shows.push(made.show);
      rows.push(labelled(made.control.id, `settings.${field}`, made.control));
    } else if (field === 'dotCursor') {
      const box = el('input', { id: 'setting-dotCursor', type: 'checkbox', class: 'setting-check' });
      box.addEventListener('change', () => updateSettings({ dotCursor: box.checked }));
      shows.push((s) => (box.checked = s.dotCursor));
      rows.push(
        el('div', { class: 'setting setting--check' }, box, el('label', { for: box.id, class: 'setting-label' }, t('settings.dotCursor')), el('p', { class: 'setting-hint' }, t('settings.dotCursor.hint'))),
      );
    } else {
      const made = field === 'fontSize' ? range('fontSize', FONT_SIZES.min, FONT_SIZES.max) : range(field, 0, 9);
      shows.push(made.show);
      rows.push(labelled(`setting-${field}`, `settings.${field}`, made.control, field === 'fontSize' ? undefined : `settings.${field}.hint`));
    }
  }
  const closeButton = el('button', { type: 'button', class: 'dialog-close', 'aria-label': t('action.close'), title: t('action.close') }, icon('close'));
  const dialog = el(
    'dialog',
    { class: 'dialog settings-dialog', 'aria-labelledby': 'settings-heading' },
    el('div', { class: 'dialog-head' }, el('h2', { id: 'settings-heading' }, t('settings.heading')), closeButton),
    el('p', { class: 'dialog-help' }, t('settings.help')),
    ...rows,
  );
  document.body.append(dialog);
  closeButton.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', onClose);
  const showAll = (s: Settings): void => shows.forEach((show) => show(s));
  onSettings(showAll);

  const button = toolbarButton({ label: t('settings.heading'), icon: 'settings', iconOnly: true });
  button.classList.add('tb-settings');
  button.addEventListener('click', () => {
    showAll(settings());
    dialog.showModal();
  });
  return button;
}
