import { el } from './dom.js';
import { icon, type IconName } from './icons.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'ended';

const STATE_LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting',
  connected: 'Connected',
  reconnecting: 'Reconnecting',
  disconnected: 'Disconnected',
  ended: 'Ended',
};

/** A message over the screen area: progress while (re)connecting, or why there is no console. */
export interface Notice {
  tone: 'progress' | 'error' | 'ended';
  heading: string;
  message?: string;
  /** Secondary text, e.g. the reason the gateway gave. */
  detail?: string;
  action?: { label: string; run: () => void };
}

const NOTICE_ICONS: Record<Exclude<Notice['tone'], 'progress'>, IconName> = { error: 'alert', ended: 'power' };

/** The page frame shared by the console kinds: toolbar, connection state and notices. */
export interface ConsoleChrome {
  /** Where the remote screen (or terminal) goes. */
  screen: HTMLElement;
  /** The toolbar's right-hand side. */
  controls: HTMLElement;
  setTitle(title: string): void;
  setState(state: ConnectionState): void;
  showNotice(notice: Notice | null): void;
}

export function buildChrome(opts: { title: string; viewOnly: boolean }): ConsoleChrome {
  const title = el('h1', { class: 'tb-title' }, opts.title);
  const pillText = el('span', { class: 'pill-text' });
  const pill = el('span', { class: 'pill', role: 'status', 'aria-live': 'polite' }, el('span', { class: 'pill-dot', 'aria-hidden': 'true' }), pillText);
  const viewOnlyBadge = opts.viewOnly ? el('span', { class: 'badge', title: 'You can watch this console but not type into it' }, icon('eye'), 'View only') : null;
  const controls = el('div', { class: 'tb-end' });
  const toolbar = el(
    'header',
    { class: 'toolbar' },
    el('div', { class: 'tb-start' }, el('span', { class: 'tb-logo', 'aria-hidden': 'true' }, icon('monitor')), title, pill, viewOnlyBadge),
    controls,
  );

  const noticeLayer = el('div', { class: 'notice-layer', hidden: true });
  const screen = el('div', { class: 'screen' });
  const stage = el('main', { class: 'stage' }, screen, noticeLayer);
  document.body.append(toolbar, stage);

  const setTitle = (text: string): void => {
    title.textContent = text;
    title.title = text;
    document.title = `${text} – Console`;
  };
  setTitle(opts.title);

  const setState = (state: ConnectionState): void => {
    document.body.dataset.state = state;
    pill.dataset.state = state;
    pillText.textContent = STATE_LABELS[state];
    for (const control of controls.querySelectorAll<HTMLButtonElement>('button.needs-connection')) {
      control.disabled = state !== 'connected';
    }
  };

  const showNotice = (notice: Notice | null): void => {
    noticeLayer.replaceChildren();
    noticeLayer.hidden = notice === null;
    if (!notice) return;
    const button = notice.action ? el('button', { type: 'button', class: 'btn btn-primary' }, notice.action.label) : null;
    if (button && notice.action) button.addEventListener('click', notice.action.run);
    noticeLayer.dataset.tone = notice.tone;
    noticeLayer.append(
      el(
        'div',
        { class: 'notice', role: notice.tone === 'progress' ? 'status' : 'alert' },
        notice.tone === 'progress' ? el('span', { class: 'spinner', 'aria-hidden': 'true' }) : el('span', { class: 'notice-icon' }, icon(NOTICE_ICONS[notice.tone])),
        el('h2', {}, notice.heading),
        notice.message ? el('p', {}, notice.message) : null,
        notice.detail ? el('p', { class: 'notice-detail' }, notice.detail) : null,
        button ? el('div', { class: 'notice-actions' }, button) : null,
      ),
    );
    if (notice.tone !== 'progress') button?.focus();
  };

  return { screen, controls, setTitle, setState, showNotice };
}
