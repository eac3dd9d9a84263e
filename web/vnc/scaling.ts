import { toolbarButton } from '../shared/controls.js';
import { el } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { dropdownMenu } from '../shared/menu.js';
import { onSettings, settings, updateSettings, type Settings } from '../shared/settings.js';

export type ScalingMode = Settings['scaling'];

export const SCALING_MODES: ScalingMode[] = ['scale', 'remote', 'none'];

interface Scalable {
  scaleViewport: boolean;
  resizeSession: boolean;
  clipViewport: boolean;
  dragViewport: boolean;
}

/** A finger, not a mouse: noVNC takes its touches as gestures, so the page cannot scroll under it. */
const touchFirst = (): boolean => matchMedia('(pointer: coarse)').matches;

export function applyScaling(rfb: Scalable, mode: ScalingMode): void {
  rfb.scaleViewport = mode === 'scale';
  rfb.resizeSession = mode === 'remote';
  // A screen larger than the window: with a mouse the container scrolls (noVNC's has overflow:
  // auto); with a finger noVNC clips it and a one-finger drag pans it (long-press still right-clicks).
  const pan = mode === 'none' && touchFirst();
  rfb.clipViewport = pan;
  rfb.dragViewport = pan;
}

/** The toolbar's scaling selector; it follows the setting, wherever that is changed. */
export function scalingMenu(onClose: () => void): HTMLElement {
  const button = toolbarButton({ label: t('scaling.scale'), icon: 'scale', hint: t('scaling.heading'), menu: true });
  const label = button.querySelector('.tb-label');
  const menu = dropdownMenu(button, 'menu--scaling', onClose);
  const items = SCALING_MODES.map((mode) => {
    const item = el(
      'button',
      { type: 'button', class: 'menu-item', role: 'menuitemradio', 'aria-checked': 'false', 'data-mode': mode },
      el('span', { class: 'menu-check' }, icon('check')),
      el('span', { class: 'menu-text' }, el('span', { class: 'menu-label' }, t(`scaling.${mode}`)), el('span', { class: 'menu-hint' }, t(`scaling.${mode}.hint`))),
    );
    item.addEventListener('click', () => updateSettings({ scaling: mode }));
    return item;
  });
  menu.panel.append(el('div', { class: 'menu-heading' }, t('scaling.heading')), ...items);

  const show = (mode: ScalingMode): void => {
    for (const item of items) item.setAttribute('aria-checked', String(item.dataset.mode === mode));
    if (label) label.textContent = t(`scaling.${mode}`);
  };
  onSettings((s) => show(s.scaling));
  show(settings().scaling);
  return menu.root;
}
