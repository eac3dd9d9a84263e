import { toolbarButton } from '../shared/controls.js';
import { el } from '../shared/dom.js';
import { icon } from '../shared/icons.js';
import { t } from '../shared/i18n.js';
import { dropdownMenu } from '../shared/menu.js';

export type ScalingMode = 'scale' | 'remote' | 'none';

const MODES: ScalingMode[] = ['scale', 'remote', 'none'];

const STORAGE_KEY = 'proxmoxvnc.scaling';

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

/** The customer's last choice; storage may be blocked (e.g. third-party frames), so it is best effort. */
export function savedScaling(): ScalingMode {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'scale' || saved === 'remote' || saved === 'none') return saved;
  } catch {
    // storage unavailable
  }
  return 'scale';
}

function saveScaling(mode: ScalingMode): void {
  try {
    localStorage.setItem(STORAGE_KEY, mode);
  } catch {
    // storage unavailable: the choice lasts for this page only
  }
}

/** The toolbar's scaling selector; `onChange` applies a new mode to the live connection. */
export function scalingMenu(initial: ScalingMode, onChange: (mode: ScalingMode) => void, onClose: () => void): HTMLElement {
  const button = toolbarButton({ label: t('scaling.scale'), icon: 'scale', hint: t('scaling.heading'), menu: true });
  const label = button.querySelector('.tb-label');
  const menu = dropdownMenu(button, 'menu--scaling', onClose);
  const items = MODES.map((mode) => {
    const item = el(
      'button',
      { type: 'button', class: 'menu-item', role: 'menuitemradio', 'aria-checked': 'false', 'data-mode': mode },
      el('span', { class: 'menu-check' }, icon('check')),
      el('span', { class: 'menu-text' }, el('span', { class: 'menu-label' }, t(`scaling.${mode}`)), el('span', { class: 'menu-hint' }, t(`scaling.${mode}.hint`))),
    );
    item.addEventListener('click', () => select(mode));
    return item;
  });
  menu.panel.append(el('div', { class: 'menu-heading' }, t('scaling.heading')), ...items);

  function select(mode: ScalingMode): void {
    for (const item of items) item.setAttribute('aria-checked', String(item.dataset.mode === mode));
    if (label) label.textContent = t(`scaling.${mode}`);
    saveScaling(mode);
    onChange(mode);
  }
  for (const item of items) item.setAttribute('aria-checked', String(item.dataset.mode === initial));
  if (label) label.textContent = t(`scaling.${initial}`);
  return menu.root;
}
