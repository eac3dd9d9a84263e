import type { Terminal } from '@xterm/xterm';
import { pasteDialog } from './paste-dialog.js';

export interface TerminalClipboard {
  /** Copies the terminal's selection; false when there is none or the browser refused. */
  copy(): Promise<boolean>;
  /** Pastes the clipboard into the terminal, asking for the text when the page may not read it. */
  paste(): Promise<void>;
}

/** For browsers without the asynchronous clipboard API (e.g. a page not in a secure context). */
function copyWithSelection(text: string): boolean {
  const scratch = document.createElement('textarea');
  scratch.value = text;
  scratch.className = 'visually-hidden';
  document.body.append(scratch);
  scratch.select();
  try {
    return document.execCommand('copy');
  } finally {
    scratch.remove();
  }
}

/**
 * Copy and paste as terminals on the desktop do them: Ctrl+Shift+C copies the selection and
 * Ctrl+Shift+V pastes (the browser's own paste event, which needs no permission); plain Ctrl+C
 * and Ctrl+V stay with the remote program.
 */
export function terminalClipboard(term: Terminal, opts: { canType: boolean; refocus: () => void }): TerminalClipboard {
  const dialog = opts.canType ? pasteDialog((text) => term.paste(text), opts.refocus) : null;

  const copy = async (): Promise<boolean> => {
    const text = term.getSelection();
    if (text === '') return false;
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      return copyWithSelection(text);
    }
  };

  const paste = async (): Promise<void> => {
    if (!dialog) return;
    let text: string;
    try {
      text = await navigator.clipboard.readText();
    } catch {
      dialog.open();
      return;
    }
    if (text !== '') term.paste(text);
    opts.refocus();
  };

  term.attachCustomKeyEventHandler((event) => {
    if (!event.ctrlKey || !event.shiftKey || event.altKey || event.metaKey) return true;
    const key = event.key.toLowerCase();
    if (key === 'c') {
      if (event.type === 'keydown') {
        event.preventDefault();
        void copy();
      }
      return false;
    }
    // Not handled by xterm.js, so the browser goes on to fire the paste event xterm.js listens to.
    return key !== 'v';
  });

  return { copy, paste };
}
