import { el } from './dom.js';

export interface DropdownMenu {
  /** The button and its panel, to be placed in the toolbar. */
  root: HTMLElement;
  panel: HTMLElement;
  close(): void;
}

/**
 * A dropdown panel under a toolbar button. It closes on a click outside, on Escape and after an
 * item ran; `onClose` lets the console take the keyboard focus back.
 */
export function dropdownMenu(button: HTMLButtonElement, panelClass: string, onClose: () => void): DropdownMenu {
  const panel = el('div', { class: `menu ${panelClass}`, role: 'menu', hidden: true });
  const root = el('div', { class: 'menu-anchor' }, button, panel);

  const isOpen = (): boolean => !panel.hidden;
  const close = (): void => {
    if (!isOpen()) return;
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', onOutsidePointer, true);
    onClose();
  };
  const onOutsidePointer = (event: PointerEvent): void => {
    if (!root.contains(event.target as Node)) close();
  };
  const open = (): void => {
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', onOutsidePointer, true);
    panel.querySelector<HTMLElement>('[role^="menuitem"]:not(:disabled)')?.focus();
  };

  button.addEventListener('click', () => (isOpen() ? close() : open()));
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      close();
      return;
    }
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    event.preventDefault();
    const items = [...panel.querySelectorAll<HTMLElement>('[role^="menuitem"]:not(:disabled)')];
    const index = items.indexOf(document.activeElement as HTMLElement);
    const step = event.key === 'ArrowDown' ? 1 : -1;
    items[(index + step + items.length) % items.length]?.focus();
  });
  panel.addEventListener('click', (event) => {
    if ((event.target as Element).closest('[role^="menuitem"]')) close();
  });
  return { root, panel, close };
}
