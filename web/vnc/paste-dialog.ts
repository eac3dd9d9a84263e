import { el } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { pasteBox } from '../shared/paste-box.js';
import { keystrokesFor, untypeable } from './keysyms.js';
import { typeKeystrokes, type KeySender, type TypingJob } from './typist.js';

/** About two and a half minutes of typing; more is better sent another way (e.g. a file transfer). */
const MAX_PASTE_CHARS = 10000;
const COPIED_FEEDBACK_MS = 1500;

export interface ClipboardSender extends KeySender {
  /** RFB ClientCutText (noVNC: the extended clipboard where the server offers it). */
  clipboardPasteFrom(text: string): void;
}

export interface ClipboardDialog {
  open(): void;
  /** Stops any typing in progress (the connection went away). */
  stop(): void;
  /** The guest put text on its clipboard (RFB ServerCutText). */
  fromGuest(text: string): void;
}

/** Copies with the asynchronous clipboard API, or a selection where the page may not use it. */
async function copyText(text: string, from: HTMLTextAreaElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    from.select();
    return document.execCommand('copy');
  }
}

/**
 * "Clipboard": what the guest copied, to copy in the page (guests with a VNC clipboard, e.g. QEMU
 * with clipboard=vnc), and text to send: to the guest's clipboard where it has one, else typed as
 * keystrokes on a US layout. Characters that layout cannot type are named before anything is typed.
 */
export function clipboardDialog(sender: () => ClipboardSender | null, onClose: () => void): ClipboardDialog {
  const guestText = el('textarea', { class: 'clip-text', rows: '3', readonly: true, 'aria-label': t('clipboard.from_guest') });
  const copyButton = el('button', { type: 'button', class: 'btn' }, t('toolbar.copy'));
  const guestRow = el(
    'div',
    { class: 'clip-guest-row', hidden: true },
    el('div', { class: 'clip-label' }, el('span', {}, t('clipboard.from_guest')), copyButton),
    guestText,
  );
  const counter = el('span', { class: 'paste-counter' });
  const warning = el('p', { class: 'paste-warning', role: 'alert', hidden: true });
  const progressBar = el('progress', { class: 'paste-progress', max: '1', value: '0' });
  const progressText = el('span', { class: 'paste-progress-text' });
  const progress = el('div', { class: 'paste-progress-row', hidden: true }, progressBar, progressText);
  const sendButton = el('button', { type: 'button', class: 'btn clip-send' }, t('clipboard.send'));
  const typeButton = el('button', { type: 'button', class: 'btn btn-primary clip-type' }, t('paste.type'));
  const { dialog, textarea, cancelButton, closeButton } = pasteBox({
    id: 'paste-heading',
    heading: t('clipboard.heading'),
    before: [guestRow],
    help: t('paste.help'),
    placeholder: t('paste.placeholder'),
    label: t('paste.label'),
    extra: [el('div', { class: 'paste-meta' }, counter), warning, progress],
    submit: [sendButton, typeButton],
  });

  let job: TypingJob | null = null;
  /** The guest has a clipboard of its own once it sent one: sending there is the better default. */
  let guestHasClipboard = false;
  /** The characters the user was warned about, for the text as it is now. */
  let confirmedSkips: string | null = null;

  const setDefault = (): void => {
    sendButton.classList.toggle('btn-primary', guestHasClipboard);
    typeButton.classList.toggle('btn-primary', !guestHasClipboard);
  };
  const update = (): void => {
    const length = textarea.value.length;
    counter.textContent = length > MAX_PASTE_CHARS ? t('paste.too_long', { count: length, max: MAX_PASTE_CHARS }) : t('paste.count', { count: length });
    counter.classList.toggle('is-error', length > MAX_PASTE_CHARS);
    typeButton.disabled = length === 0 || length > MAX_PASTE_CHARS;
    sendButton.disabled = length === 0;
    confirmedSkips = null;
    warning.hidden = true;
    typeButton.textContent = t('paste.type');
  };
  const setTyping = (typing: boolean): void => {
    textarea.disabled = typing;
    typeButton.hidden = typing;
    sendButton.hidden = typing;
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
  const typeText = (text: string): void => {
    setTyping(true);
    const current = typeKeystrokes(keystrokesFor(text), sender, (typed, total) => {
      progressBar.value = total === 0 ? 1 : typed / total;
      progressText.textContent = t('paste.typing', { typed, total });
    });
    job = current;
    void current.finished.then((complete) => {
      if (job === current) job = null;
      setTyping(false);
      if (complete) {
        textarea.value = '';
        update();
        close();
      }
    });
  };

  textarea.addEventListener('input', update);
  cancelButton.addEventListener('click', () => (job ? stop() : close()));
  closeButton.addEventListener('click', close);
  dialog.addEventListener('close', () => {
    stop();
    onClose();
  });
  sendButton.addEventListener('click', () => {
    const target = sender();
    if (!target) return;
    target.clipboardPasteFrom(textarea.value);
    textarea.value = '';
    update();
    close();
  });
  typeButton.addEventListener('click', () => {
    const skipped = untypeable(textarea.value);
    const names = skipped.join(' ');
    if (skipped.length > 0 && confirmedSkips !== names) {
      // Told once, before anything is typed: the second press types the rest.
      warning.textContent = t('paste.untypeable', { chars: names });
      warning.hidden = false;
      confirmedSkips = names;
      typeButton.textContent = t('paste.type_rest');
      return;
    }
    const skip = new Set(skipped);
    typeText([...textarea.value].filter((c) => !skip.has(c)).join(''));
  });
  copyButton.addEventListener('click', () => {
    void copyText(guestText.value, guestText).then((copied) => {
      if (!copied) return;
      copyButton.textContent = t('toolbar.copied');
      setTimeout(() => (copyButton.textContent = t('toolbar.copy')), COPIED_FEEDBACK_MS);
    });
  });

  return {
    open: () => {
      setTyping(false);
      update();
      setDefault();
      dialog.showModal();
      textarea.focus();
    },
    stop,
    fromGuest(text) {
      guestHasClipboard = true;
      guestText.value = text;
      guestRow.hidden = false;
      setDefault();
    },
  };
}
