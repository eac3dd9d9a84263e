import { KEYS, type Keystroke } from './keysyms.js';

export interface KeySender {
  sendKey(keysym: number, code: string | null, down?: boolean): void;
}

/** One character's key, with Shift held around it where the US layout needs it. */
export function pressStroke(target: KeySender, stroke: Keystroke): void {
  if (stroke.shift) target.sendKey(KEYS.ShiftLeft.keysym, KEYS.ShiftLeft.code, true);
  target.sendKey(stroke.key.keysym, stroke.key.code, true);
  target.sendKey(stroke.key.keysym, stroke.key.code, false);
  if (stroke.shift) target.sendKey(KEYS.ShiftLeft.keysym, KEYS.ShiftLeft.code, false);
}

/**
 * Pause between characters: guests read the keyboard at their own pace (a BIOS or a busy boot
 * drops keys that arrive in a burst), so long text is fed steadily rather than all at once.
 */
const KEYSTROKE_INTERVAL_MS = 15;

export interface TypingJob {
  cancel(): void;
  /** True when every keystroke was sent, false when cancelled or the console went away. */
  finished: Promise<boolean>;
}

/** Types the keystrokes one by one through whatever connection `sender()` returns at that moment. */
export function typeKeystrokes(
  strokes: Keystroke[],
  sender: () => KeySender | null,
  onProgress: (typed: number, total: number) => void,
): TypingJob {
  let cancelled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let settle: (complete: boolean) => void = () => undefined;
  const finished = new Promise<boolean>((resolve) => (settle = resolve));

  let index = 0;
  const step = (): void => {
    const target = sender();
    if (cancelled || !target) {
      settle(false);
      return;
    }
    const stroke = strokes[index];
    if (!stroke) {
      settle(true);
      return;
    }
    pressStroke(target, stroke);
    index++;
    onProgress(index, strokes.length);
    timer = setTimeout(step, KEYSTROKE_INTERVAL_MS);
  };
  onProgress(0, strokes.length);
  step();

  return {
    cancel: () => {
      cancelled = true;
      if (timer !== undefined) clearTimeout(timer);
      settle(false);
    },
    finished,
  };
}
