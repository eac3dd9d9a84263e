import { el } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { pasteBox } from '../shared/paste-box.js';
import { keystrokesFor } from './keysyms.js';
import { typeKeystrokes, type KeySender, type TypingJob } from './typist.js';

/** About two and a half minutes of typing; more is better sent another way (e.g. a file transfer). */
const MAX_PASTE_CHARS = 10000;

export interface PasteDialog {
  open(): void;
  /** Stops any typing in progress (the connection went away). */
  stop(): void;
}

/**
 * "Paste": the customer puts text in a box and the console types it. Consoles have no clipboard,
 * so this is the only way to get a long password or a command line into the guest.
 */
export function pasteDialog(sender: () => KeySender | null, onClose: () => void): PasteDialog {
  const counter = el('span', { class: 'paste-counter' });
  const progressBar = el('progress', { class: 'paste-progress', max: '1', value: '0' });
  const progressText = el('span', { class: 'paste-progress-text' });
  const progress = el('div', { class: 'paste-progress-row', hidden: true }, progressBar, progressText);
  const typeButton = el('button', { type: 'button', class: 'btn btn-primary' }, t('paste.type'));
  const { dialog, textarea, cancelButton, closeButton } = pasteBox({
    id: 'paste-heading',
    help: t('paste.help'),
    placeholder: t('paste.placeholder'),
    label: t('paste.label'),
    extra: [el('div', { class: 'paste-meta' }, counter), progress],
    submit: typeButton,
  });

  let job: TypingJob | null = null;

  const updateCounter = (): void => {
    const length = textarea.value.length;
    counter.textContent = length > MAX_PASTE_CHARS ? t('paste.too_long', { count: length, max: MAX_PASTE_CHARS }) : t('paste.count', { count: length });
    counter.classList.toggle('is-error', length > MAX_PASTE_CHARS);
    typeButton.disabled = length === 0 || length > MAX_PASTE_CHARS;
  };
  const setTyping = (typing: boolean): void => {
    textarea.disabled = typing;
    typeButton.hidden = typing;
    progress.hidden = !typing;
    cancelButton.textContent = typing ? t('paste.stop') : t('action.cancel');
  };
  const stop = (): void => {
    job?.cancel();
    job = null;
  };
  const close = (): void => {
    stop();
    if (dialog.open) dialog.close();
  };

  textarea.addEventListener('input', updateCounter);
  cancelButton.addEventListener('click', () => (job ? stop() : close()));
  closeButton.addEventListener('click', close);
  dialog.addEventListener('close', () => {
    stop();
    onClose();
  });
  typeButton.addEventListener('click', () => {
    const strokes = keystrokesFor(textarea.value);
    setTyping(true);
    const current = typeKeystrokes(strokes, sender, (typed, total) => {
      progressBar.value = total === 0 ? 1 : typed / total;
      progressText.textContent = t('paste.typing', { typed, total });
    });
    job = current;
    void current.finished.then((complete) => {
      if (job === current) job = null;
      setTyping(false);
      if (complete) {
        textarea.value = '';
        updateCounter();
        close();
      }
    });
  });

  return {
    open: () => {
      setTyping(false);
      updateCounter();
      dialog.showModal();
      textarea.focus();
    },
    stop,
  };
}
