import { toolbarButton } from './controls.js';
import { el } from './dom.js';
import { t, type MessageKey } from './i18n.js';
import { dropdownMenu } from './menu.js';

export type PowerAction = 'start' | 'shutdown' | 'reboot' | 'stop' | 'reset' | 'suspend' | 'resume';

const ACTIONS: PowerAction[] = ['start', 'shutdown', 'reboot', 'suspend', 'resume', 'reset', 'stop'];
/** Like pulling the plug or pressing the reset button: work not saved on the guest is lost. */
const CONFIRMED = new Set<PowerAction>(['stop', 'reset']);

export function isPowerAction(value: unknown): value is PowerAction {
  return typeof value === 'string' && (ACTIONS as string[]).includes(value);
}

/** Asks the gateway to run the action with the session's credentials. */
async function requestAction(powerUrl: string, action: PowerAction): Promise<boolean> {
  try {
    const answer = await fetch(`${powerUrl}/${action}`, { method: 'POST', credentials: 'same-origin', headers: { 'x-proxmoxvnc': 'power' } });
    return answer.ok;
  } catch {
    return false;
  }
}

/** "Are you sure?" before the actions that lose unsaved work. */
function confirmDialog(action: PowerAction, run: () => void): HTMLDialogElement {
  const ok = el('button', { type: 'button', class: 'btn btn-danger' }, t(`power.${action}` as MessageKey));
  const cancel = el('button', { type: 'button', class: 'btn' }, t('action.cancel'));
  const dialog = el(
    'dialog',
    { class: 'dialog confirm-dialog', 'aria-labelledby': `confirm-${action}`, 'data-action': action },
    el('div', { class: 'dialog-head' }, el('h2', { id: `confirm-${action}` }, t(`power.confirm.${action}.title` as MessageKey))),
    el('p', { class: 'dialog-help' }, t(`power.confirm.${action}.text` as MessageKey)),
    el('div', { class: 'dialog-actions' }, cancel, ok),
  );
  cancel.addEventListener('click', () => dialog.close());
  ok.addEventListener('click', () => {
    dialog.close();
    run();
  });
  document.body.append(dialog);
  return dialog;
}

export interface PowerControls {
  /** The toolbar's Power menu. */
  menu: HTMLElement;
  /** Runs an action (asking first where it must), then reports it. */
  run(action: PowerAction): void;
}

/** The power actions the link allows, in a toolbar menu; the result is shown as a passing message. */
export function powerControls(actions: PowerAction[], powerUrl: string, toast: (text: string) => void, onClose: () => void): PowerControls {
  const offered = ACTIONS.filter((a) => actions.includes(a));
  const send = (action: PowerAction): void => {
    const label = t(`power.${action}` as MessageKey);
    void requestAction(powerUrl, action).then((ok) => toast(t(ok ? 'power.sent' : 'power.failed', { action: label })));
  };
  const confirmations = new Map(offered.filter((a) => CONFIRMED.has(a)).map((a) => [a, confirmDialog(a, () => send(a))] as const));
  const run = (action: PowerAction): void => {
    const dialog = confirmations.get(action);
    if (dialog) dialog.showModal();
    else send(action);
  };
  const button = toolbarButton({ label: t('power.menu'), icon: 'power', hint: t('power.menu.hint'), menu: true });
  button.classList.add('tb-power');
  const menu = dropdownMenu(button, 'menu--power', onClose);
  for (const action of offered) {
    // A connected console means a running guest: Start is for when it is not, the others for when it is.
    const when = action === 'start' ? 'unless-connected' : 'needs-connection';
    const item = el('button', { type: 'button', class: `menu-item ${when}`, role: 'menuitem', 'data-action': action }, el('span', { class: 'menu-label' }, t(`power.${action}` as MessageKey)));
    item.addEventListener('click', () => run(action));
    menu.panel.append(item);
  }
  menu.panel.prepend(el('div', { class: 'menu-heading' }, t('power.menu')));
  return { menu: menu.root, run };
}

/**
 * The Power menu for a page whose link allows actions, or null; with `start` allowed, the
 * stopped-guest notice offers it too (the page then connects by itself once the guest runs).
 */
export function offerPower(
  actions: PowerAction[],
  powerUrl: string,
  page: { showToast(text: string): void; setGuestAction(action: { label: string; run: () => void } | null): void },
  onClose: () => void,
): HTMLElement | null {
  if (actions.length === 0) return null;
  const controls = powerControls(actions, powerUrl, page.showToast, onClose);
  if (actions.includes('start')) page.setGuestAction({ label: t('power.start'), run: () => controls.run('start') });
  return controls.menu;
}
