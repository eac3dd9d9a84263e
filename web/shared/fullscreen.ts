import { toolbarButton } from './controls.js';
import { t } from './i18n.js';
import { icon } from './icons.js';

/** The fullscreen toggle, or null where the browser (or the embedding frame) does not allow it. */
export function fullscreenButton(afterToggle: () => void): HTMLButtonElement | null {
  if (!document.fullscreenEnabled) return null;
  const button = toolbarButton({ label: t('toolbar.fullscreen'), icon: 'maximize', iconOnly: true });
  const update = (): void => {
    const active = document.fullscreenElement !== null;
    const label = active ? t('toolbar.fullscreen_exit') : t('toolbar.fullscreen');
    button.title = label;
    button.setAttribute('aria-label', label);
    button.querySelector('svg')?.replaceWith(icon(active ? 'minimize' : 'maximize'));
  };
  button.addEventListener('click', () => {
    const change = document.fullscreenElement ? document.exitFullscreen() : document.documentElement.requestFullscreen();
    change.catch(() => undefined).finally(afterToggle);
  });
  document.addEventListener('fullscreenchange', update);
  return button;
}
