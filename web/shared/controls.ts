import { el } from './dom.js';
import { icon, type IconName } from './icons.js';

export interface ToolbarButtonOptions {
  label: string;
  icon?: IconName;
  /** Tooltip and accessible name when the label is hidden. */
  hint?: string;
  /** Show only the icon; the label stays for screen readers. */
  iconOnly?: boolean;
  /** A chevron after the label: the button opens a menu. */
  menu?: boolean;
  /** Disabled unless the console is connected (see ConsoleChrome.setState). */
  needsConnection?: boolean;
}

export function toolbarButton(opts: ToolbarButtonOptions): HTMLButtonElement {
  const classes = ['tb-button'];
  if (opts.iconOnly) classes.push('tb-button--icon');
  if (opts.needsConnection) classes.push('needs-connection');
  const button = el(
    'button',
    // A visible label is the button's name (what voice control users say); the hint is its tooltip.
    { type: 'button', class: classes.join(' '), title: opts.hint ?? opts.label, ...(opts.iconOnly ? { 'aria-label': opts.hint ?? opts.label } : {}) },
    opts.icon ? icon(opts.icon) : null,
    el('span', { class: opts.iconOnly ? 'visually-hidden' : 'tb-label' }, opts.label),
    opts.menu ? icon('chevronDown') : null,
  );
  if (opts.menu) {
    button.classList.add('tb-button--menu');
    button.setAttribute('aria-haspopup', 'menu');
    button.setAttribute('aria-expanded', 'false');
  }
  return button;
}

export function toolbarSeparator(): HTMLElement {
  return el('span', { class: 'tb-separator', 'aria-hidden': 'true' });
}
