// The noVNC console page: the remote screen in the window, with the shared toolbar and reconnects.
import './shared/console.css';
import RFB from '@novnc/novnc';
import { buildChrome } from './shared/chrome.js';
import { toolbarButton, toolbarSeparator } from './shared/controls.js';
import { embedMessenger } from './shared/embedding.js';
import { sessionEndpoints } from './shared/endpoints.js';
import { fullscreenButton } from './shared/fullscreen.js';
import { t } from './shared/i18n.js';
import { keyBar, keyboardButton } from './shared/keybar.js';
import { readConsoleOptions } from './shared/options.js';
import { offerPower } from './shared/power.js';
import { settingsButton } from './shared/settings-dialog.js';
import { applyTheme, onSettings, settings, updateSettings, type Settings } from './shared/settings.js';
import { StickyModifiers } from './shared/sticky.js';
import { ConnectionSupervisor, type ConnectionEnd, type ConsoleTransport } from './shared/supervisor.js';
import { sendCombo } from './vnc/key-combos.js';
import { keysMenu } from './vnc/keys-menu.js';
import { clipboardDialog } from './vnc/paste-dialog.js';
import { applyScaling, scalingMenu } from './vnc/scaling.js';
import { applyStickyModifiers, barKey, typingInput } from './vnc/typing.js';

const options = readConsoleOptions();
const endpoints = sessionEndpoints(options.sessionId);
const embed = embedMessenger(options.frameAncestors);
const chrome = buildChrome({ title: options.title, ...(options.brand ? { brand: options.brand } : {}), viewOnly: options.viewOnly, screenLabel: (title) => t('page.screen', { title }), onTitle: embed.title });

applyTheme();

let rfb: RFB | null = null;

const focusConsole = (): void => {
  if (!options.viewOnly) rfb?.focus({ preventScroll: true });
};

const clipboard = options.viewOnly ? null : clipboardDialog(() => rfb, focusConsole);
let clipboardButton: HTMLButtonElement | null = null;

function applySettings(connection: RFB, s: Settings): void {
  applyScaling(connection, s.scaling);
  connection.qualityLevel = s.quality;
  connection.compressionLevel = s.compression;
  connection.showDotCursor = s.dotCursor;
}

/** How long a guest has to follow a resize request before the page takes it as refused. */
const RESIZE_GRACE_MS = 3000;
/** noVNC sizes the screen in whole pixels and guests in multiples of 8 or so. */
const RESIZE_SLACK_PX = 16;
let resizeCheck: ReturnType<typeof setTimeout> | undefined;

/**
 * With remote resize, the guest's screen should come to match the window. A guest that cannot
 * (no ExtendedDesktopSize, or it refused the size) leaves it as it was: the page then scales
 * instead, for this page only, and says why.
 */
function checkRemoteResize(): void {
  clearTimeout(resizeCheck);
  const connection = rfb;
  if (!connection || settings().scaling !== 'remote') return;
  resizeCheck = setTimeout(() => {
    const canvas = chrome.screen.querySelector('canvas');
    if (rfb !== connection || settings().scaling !== 'remote' || !canvas) return;
    const { clientWidth, clientHeight } = chrome.screen;
    if (Math.abs(canvas.width - clientWidth) > RESIZE_SLACK_PX || Math.abs(canvas.height - clientHeight) > RESIZE_SLACK_PX) {
      updateSettings({ scaling: 'scale' }, false);
      chrome.showToast(t('resize.refused'));
    }
  }, RESIZE_GRACE_MS);
}
onSettings((s) => {
  if (rfb) applySettings(rfb, s);
  checkRemoteResize();
});
new ResizeObserver(() => checkRemoteResize()).observe(chrome.screen);
const sticky = new StickyModifiers();
const typing = options.viewOnly ? null : typingInput(() => rfb);
const bar = options.viewOnly
  ? null
  : keyBar({
      modifiers: ['ctrl', 'alt', 'super'],
      sticky,
      press: (name) => {
        const key = barKey(name);
        rfb?.sendKey(key.keysym, key.code);
      },
    });
if (typing) chrome.screen.after(typing.element);
if (bar) document.body.append(bar.root);

const transport: ConsoleTransport = {
  open() {
    // The page opens the websocket itself, so it learns the close code the gateway chose (noVNC
    // reports only that the connection went); its listener runs before noVNC's own.
    let ws: WebSocket | undefined;
    let connection: RFB;
    const end: ConnectionEnd = {};
    try {
      ws = new WebSocket(endpoints.websocket);
      ws.addEventListener('close', (event) => Object.assign(end, { code: event.code, reason: event.reason }));
      connection = new RFB(chrome.screen, ws, { shared: true });
    } catch {
      // e.g. a websocket URL the browser refuses: treated like a failed connection.
      ws?.close();
      setTimeout(() => supervisor.closed(end), 0);
      return;
    }
    rfb = connection;
    connection.background = 'transparent';
    connection.viewOnly = options.viewOnly;
    connection.focusOnClick = !options.viewOnly;
    applyStickyModifiers(connection, sticky);
    applySettings(connection, settings());
    // Events of a connection the page has already replaced are stale and ignored.
    const isCurrent = (): boolean => rfb === connection;
    connection.addEventListener('connect', () => {
      if (!isCurrent()) return;
      supervisor.connected();
      focusConsole();
      checkRemoteResize();
    });
    connection.addEventListener('clipboard', (event) => {
      if (!isCurrent()) return;
      clipboard?.fromGuest(event.detail.text);
      clipboardButton?.setAttribute('data-guest-text', 'true');
    });
    connection.addEventListener('securityfailure', () => {
      end.refused = true;
    });
    connection.addEventListener('credentialsrequired', () => {
      // The gateway authenticates upstream itself; a password prompt means something is misconfigured.
      end.refused = true;
      connection.disconnect();
    });
    connection.addEventListener('disconnect', () => {
      if (!isCurrent()) return;
      rfb = null;
      clipboard?.stop();
      supervisor.closed(end);
    });
    connection.addEventListener('desktopname', (event) => {
      if (isCurrent() && event.detail.name) chrome.setTitle(event.detail.name);
    });
  },
  close() {
    const old = rfb;
    rfb = null;
    old?.disconnect();
  },
};

const supervisor = new ConnectionSupervisor(transport, endpoints.state, chrome, embed.consoleEvent);

function buildToolbar(): void {
  const controls: Array<HTMLElement | null> = [];
  if (!options.viewOnly) {
    const ctrlAltDel = toolbarButton({ label: t('toolbar.cad'), hint: t('toolbar.cad.hint'), needsConnection: true });
    ctrlAltDel.classList.add('tb-button--cad');
    ctrlAltDel.addEventListener('click', () => {
      rfb?.sendCtrlAltDel();
      focusConsole();
    });
    const pasteButton = toolbarButton({ label: t('toolbar.clipboard'), icon: 'clipboard', hint: t('toolbar.clipboard.hint'), needsConnection: true });
    pasteButton.classList.add('tb-clipboard');
    pasteButton.addEventListener('click', () => {
      pasteButton.removeAttribute('data-guest-text');
      clipboard?.open();
    });
    clipboardButton = pasteButton;
    controls.push(
      ctrlAltDel,
      ...(bar && typing ? [keyboardButton(bar, { focus: typing.focus, blur: () => focusConsole() })] : []),
      keysMenu((keys) => {
        if (rfb) sendCombo(rfb, keys);
      }, focusConsole),
      pasteButton,
      toolbarSeparator(),
    );
  }
  const power = offerPower(options.power, endpoints.power, { showToast: chrome.showToast, setGuestAction: (action) => supervisor.setGuestAction(action) }, focusConsole);
  if (power) controls.push(power);
  const reconnect = toolbarButton({ label: t('toolbar.reconnect'), icon: 'refresh', iconOnly: true });
  reconnect.classList.add('tb-reconnect');
  reconnect.addEventListener('click', () => supervisor.start());
  controls.push(
    scalingMenu(focusConsole),
    settingsButton(['scaling', 'quality', 'compression', 'dotCursor', 'theme'], focusConsole),
    fullscreenButton(focusConsole),
    reconnect,
  );
  chrome.controls.append(...controls.filter((c): c is HTMLElement => c !== null));
}

buildToolbar();
supervisor.start();
