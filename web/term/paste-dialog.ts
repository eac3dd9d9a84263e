import { el } from '../shared/dom.js';
import { pasteBox } from '../shared/paste-box.js';

/**
 * "Paste" where the browser does not let the page read the clipboard (permission refused, or not
 * a secure context): the customer pastes into a box, and the text goes to the terminal as a paste.
 */
export function pasteDialog(paste: (text: string) => void, onClose: () => void): { open(): void } {
  const sendButton = el('button', { type: 'button', class: 'btn btn-primary' }, 'Paste');
  const { dialog, textarea, cancelButton, closeButton } = pasteBox({
    id: 'term-paste-heading',
    help: 'Your browser did not let the page read the clipboard. Paste the text here (Ctrl+V) to send it to the terminal.',
    placeholder: 'Paste the text to send…',
    label: 'Text to paste into the terminal',
    submit: sendButton,
  });

  const updateButton = (): void => {
    sendButton.disabled = textarea.value.length === 0;
  };
  const close = (): void => {
    if (dialog.open) dialog.close();
  };
  textarea.addEventListener('input', updateButton);
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
