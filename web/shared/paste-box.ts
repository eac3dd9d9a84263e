import { el } from './dom.js';
import { t } from './i18n.js';
import { icon } from './icons.js';

export interface PasteBoxParts {
  dialog: HTMLDialogElement;
  textarea: HTMLTextAreaElement;
  cancelButton: HTMLButtonElement;
  closeButton: HTMLButtonElement;
}

export interface PasteBoxOptions {
  id: string;
  heading: string;
  /** Rows above the help text (what the guest copied). */
  before?: HTMLElement[];
  help: string;
  placeholder: string;
  label: string;
  /** Rows between the text box and the buttons (counters, progress). */
  extra?: HTMLElement[];
  /** The actions that send the text, after Cancel; Ctrl+Enter presses the last one. */
  submit: HTMLButtonElement[];
}

/**
 * The "Paste text" dialog both console pages show: a text box, help, Cancel and a send button.
 * Ctrl+Enter sends, as in most multi-line boxes. What sending does is the page's business.
 */
export function pasteBox(opts: PasteBoxOptions): PasteBoxParts {
  const textarea = el('textarea', {
    class: 'paste-text',
    rows: '8',
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: opts.placeholder,
    'aria-label': opts.label,
  });
  const cancelButton = el('button', { type: 'button', class: 'btn' }, t('action.cancel'));
  const closeButton = el('button', { type: 'button', class: 'dialog-close', 'aria-label': t('action.close'), title: t('action.close') }, icon('close'));
  const dialog = el(
    'dialog',
    { class: 'dialog paste-dialog', 'aria-labelledby': opts.id },
    el('div', { class: 'dialog-head' }, el('h2', { id: opts.id }, opts.heading), closeButton),
    ...(opts.before ?? []),
    el('p', { class: 'dialog-help' }, opts.help),
    textarea,
    ...(opts.extra ?? []),
    el('div', { class: 'dialog-actions' }, cancelButton, ...opts.submit),
  );
  document.body.append(dialog);
  textarea.addEventListener('keydown', (event) => {
    const main = opts.submit.at(-1);
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && main && !main.disabled && !main.hidden) {
      event.preventDefault();
      main.click();
    }
  });
  return { dialog, textarea, cancelButton, closeButton };
}
