import { el } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { pasteBox } from '../shared/paste-box.js';

/**
 * "Paste" where the browser does not let the page read the clipboard (permission refused, or not
 * a secure context): the customer pastes into a box, and the text goes to the terminal as a paste.
 */
export function pasteDialog(paste: (text: string) => void, onClose: () => void): { open(): void } {
  const sendButton = el('button', { type: 'button', class: 'btn btn-primary' }, t('term_paste.send'));
  const { dialog, textarea, cancelButton, closeButton } = pasteBox({
    id: 'term-paste-heading',
    heading: t('paste.heading'),
    help: t('term_paste.help'),
    placeholder: t('term_paste.placeholder'),
    label: t('term_paste.label'),
    submit: [sendButton],
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
