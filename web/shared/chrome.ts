import { el } from './dom.js';
import { t } from './i18n.js';
import { icon, type IconName } from './icons.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'waiting' | 'ended';

/** A message over the screen area: progress while (re)connecting, or why there is no console. */
export interface Notice {
  tone: 'progress' | 'waiting' | 'error' | 'ended';
  /** Nothing more will happen on this page: the notice replaces the screen. */
  final?: boolean;
  heading: string;
  message?: string;
  /** Secondary text, e.g. which attempt this is. */
  detail?: string;
  action?: { label: string; run: () => void };
}

/** Long enough to read two lines. */
const TOAST_MS = 8000;

const NOTICE_ICONS: Record<Exclude<Notice['tone'], 'progress'>, IconName> = { waiting: 'power', error: 'alert', ended: 'power' };

/** The page frame shared by the console kinds: toolbar, connection state and notices. */
export interface ConsoleChrome {
  /** Where the remote screen (or terminal) goes. */
  screen: HTMLElement;
  /** The toolbar's right-hand side. */
  controls: HTMLElement;
  setTitle(title: string): void;
  setState(state: ConnectionState): void;
  showNotice(notice: Notice | null): void;
  /** A passing message over the screen that leaves the console usable. */
  showToast(text: string): void;
}

export interface ChromeOptions {
  title: string;
  brand?: { name: string; logoUrl?: string };
  viewOnly: boolean;
  screenLabel: (title: string) => string;
  /** Called with every title the page shows (for an embedding panel). */
  onTitle?: (title: string) => void;
}

export function buildChrome(opts: ChromeOptions): ConsoleChrome {
  const title = el('h1', { class: 'tb-title' }, opts.title);
  const pillText = el('span', { class: 'pill-text' });
  const pill = el('span', { class: 'pill', role: 'status', 'aria-live': 'polite' }, el('span', { class: 'pill-dot', 'aria-hidden': 'true' }), pillText);
  const viewOnlyBadge = opts.viewOnly ? el('span', { class: 'badge', title: t('badge.view_only.hint') }, icon('eye'), t('badge.view_only')) : null;
  const controls = el('div', { class: 'tb-end' });
  const toolbar = el(
    'header',
    { class: 'toolbar' },
    el('div', { class: 'tb-start' }, (opts.brand?.logoUrl
        ? el('img', { class: 'tb-brand-logo', src: opts.brand.logoUrl, alt: opts.brand.name })
        : el('span', { class: 'tb-logo', 'aria-hidden': 'true' }, icon('monitor'))), title, pill, viewOnlyBadge),
    controls,
  );

  const noticeLayer = el('div', { class: 'notice-layer', hidden: true });
  const toast = el('div', { class: 'toast', role: 'status', hidden: true });
  // Keys typed here go to the remote machine, not to the page: an application, named for the guest.
  const screen = el('div', { class: 'screen', role: 'application' });
  const stage = el('main', { class: 'stage' }, screen, noticeLayer, toast);
  document.body.append(toolbar, stage);

  const setTitle = (text: string): void => {
    title.textContent = text;
    title.title = text;
    document.title = opts.brand ? `${text} – ${opts.brand.name}` : t('page.title', { title: text });
    screen.setAttribute('aria-label', opts.screenLabel(text));
    opts.onTitle?.(text);
  };
  setTitle(opts.title);

  const setState = (state: ConnectionState): void => {
    document.body.dataset.state = state;
    pill.dataset.state = state;
    pillText.textContent = t(`state.${state}`);
    for (const control of controls.querySelectorAll<HTMLButtonElement>('button.needs-connection')) {
      control.disabled = state !== 'connected';
    }
    for (const control of controls.querySelectorAll<HTMLButtonElement>('button.unless-connected')) {
      control.disabled = state === 'connected';
    }
  };

  const showNotice = (notice: Notice | null): void => {
    noticeLayer.replaceChildren();
    noticeLayer.hidden = notice === null;
    if (!notice) return;
    const button = notice.action ? el('button', { type: 'button', class: 'btn btn-primary' }, notice.action.label) : null;
    if (button && notice.action) button.addEventListener('click', notice.action.run);
    noticeLayer.dataset.tone = notice.tone;
    noticeLayer.classList.toggle('is-final', notice.final === true);
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

  let toastTimer: ReturnType<typeof setTimeout> | undefined;
  const showToast = (text: string): void => {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (toast.hidden = true), TOAST_MS);
  };

  return { screen, controls, setTitle, setState, showNotice, showToast };
}
