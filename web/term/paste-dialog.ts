import { el } from '../shared/dom.js';
import { icon } from '../shared/icons.js';

/**
 * "Paste" where the browser does not let the page read the clipboard (permission refused, or not
 * a secure context): the customer pastes into a box, and the text goes to the terminal as a paste.
 */
export function pasteDialog(paste: (text: string) => void, onClose: () => void): { open(): void } {
  const textarea = el('textarea', {
    class: 'paste-text',
    rows: '8',
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: 'Paste the text to send…',
    'aria-label': 'Text to paste into the terminal',
  });
  const cancelButton = el('button', { type: 'button', class: 'btn' }, 'Cancel');
  const sendButton = el('button', { type: 'button', class: 'btn btn-primary' }, 'Paste');
  const closeButton = el('button', { type: 'button', class: 'dialog-close', 'aria-label': 'Close', title: 'Close' }, icon('close'));
  const dialog = el(
    'dialog',
    { class: 'dialog paste-dialog', 'aria-labelledby': 'term-paste-heading' },
    el('div', { class: 'dialog-head' }, el('h2', { id: 'term-paste-heading' }, 'Paste text'), closeButton),
    el('p', { class: 'dialog-help' }, 'Your browser did not let the page read the clipboard. Paste the text here (Ctrl+V) to send it to the terminal.'),
    textarea,
    el('div', { class: 'dialog-actions' }, cancelButton, sendButton),
  );
  document.body.append(dialog);

  const updateButton = (): void => {
    sendButton.disabled = textarea.value.length === 0;
  };
  const close = (): void => {
    if (dialog.open) dialog.close();
  };
  textarea.addEventListener('input', updateButton);
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !sendButton.disabled) {
      event.preventDefault();
      sendButton.click();
    }
  });
  cancelButton.addEventListener('click', close);
  closeButton.addEventListener('click', close);
  dialog.addEventListener('close', onClose);
  sendButton.addEventListener('click', () => {
    const text = textarea.value;
    textarea.value = '';
    close();
    paste(text);
  });

  return {
    open() {
      textarea.value = '';
      updateButton();
      dialog.showModal();
      textarea.focus();
    },
  };
}
