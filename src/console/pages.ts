/**
 * HTML of the end-user pages. Pure functions: the routes add the headers (CONSOLE_CSP among them).
 * The pages carry no inline script or style, so the CSP can forbid both; the console page hands its
 * options to the bundle as a JSON data block, which the browser never executes.
 */
import { catalogFor, DEFAULT_LANGUAGE, translate, type Catalog, type MessageKey } from './i18n/index.js';
import type { PageBrand } from './brand.js';
import type { OutcomeCode } from './outcomes.js';

/** What every page needs: where its assets are, and which language it speaks. */
export interface PageContext {
  /** URL path the bundles are served under, ending in '/', e.g. '/assets/'. */
  assetBase: string;
  /** A language of src/console/i18n (pickLanguage). */
  lang: string;
  /** The operator's `brand`: its name in titles, its logo and accent colour on every page. */
  brand?: PageBrand;
}

export interface ConsolePageOptions extends PageContext {
  sessionId: string;
  /** Shown to the customer (the guest's name unless the backend chose one): untrusted text. */
  title: string;
  consoleKind: 'novnc' | 'xterm';
  viewOnly: boolean;
  /** This answer's CSP style nonce, for the <style> elements the terminal creates (styleNonce()). */
  styleNonce?: string;
  /** `frame_ancestors`: whom a framed page may tell what happens (postMessage). */
  frameAncestors?: readonly string[];
  /** The power actions the link allows. */
  power?: readonly string[];
}

/** What the browser bundle reads from the `#console-options` block. */
export interface ConsolePageData {
  sessionId: string;
  title: string;
  consoleKind: 'novnc' | 'xterm';
  viewOnly: boolean;
  lang: string;
  /** The whole catalog of the page's language: the bundle carries none. */
  strings: Catalog;
  styleNonce?: string;
  frameAncestors: readonly string[];
  brand?: PageBrand;
  power?: readonly string[];
}

const DEFAULT_CONTEXT: PageContext = { assetBase: '/assets/', lang: DEFAULT_LANGUAGE };

/** Bundle entry per console kind: dist/web/<name>.js and dist/web/<name>.css. */
const BUNDLE_BY_KIND: Record<ConsolePageOptions['consoleKind'], string> = { novnc: 'vnc', xterm: 'term' };

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * JSON that is safe inside a <script type="application/json"> element: `<` can neither close the
 * element nor open a comment, and U+2028/U+2029 stay escaped for any consumer that evals.
 */
export function jsonForHtml(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function htmlDocument(ctx: PageContext, parts: { title: string; stylesheet: string; bodyClass: string; head?: string; body: string }): string {
  const base = escapeHtml(ctx.assetBase);
  return `<!doctype html>
<html lang="${escapeHtml(ctx.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, interactive-widget=resizes-content">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="dark light">
<title>${escapeHtml(parts.title)}</title>
<link rel="icon" type="image/svg+xml" href="${base}favicon.svg">
<link rel="stylesheet" href="${base}${parts.stylesheet}">
${ctx.brand?.styleUrl ? `<link rel="stylesheet" href="${escapeHtml(ctx.brand.styleUrl)}">\n` : ''}${parts.head ?? ''}</head>
<body class="${parts.bodyClass}">
${parts.body}
</body>
</html>
`;
}

export function renderConsolePage(opts: ConsolePageOptions): string {
  const bundle = BUNDLE_BY_KIND[opts.consoleKind];
  const catalog = catalogFor(opts.lang);
  const data: ConsolePageData = {
    sessionId: opts.sessionId,
    title: opts.title,
    consoleKind: opts.consoleKind,
    viewOnly: opts.viewOnly,
    lang: opts.lang,
    strings: catalog,
    ...(opts.styleNonce ? { styleNonce: opts.styleNonce } : {}),
    frameAncestors: opts.frameAncestors ?? [],
    ...(opts.brand ? { brand: opts.brand } : {}),
    ...(opts.power?.length ? { power: opts.power } : {}),
  };
  return htmlDocument(opts, {
    title: brandedTitle(opts, opts.title, translate(catalog, 'page.title', { title: opts.title })),
    stylesheet: `${bundle}.css`,
    bodyClass: 'console',
    head: `<script type="application/json" id="console-options">${jsonForHtml(data)}</script>
<script type="module" src="${escapeHtml(opts.assetBase)}${bundle}.js"></script>
`,
    body: `<noscript><div class="noscript"><h1>${escapeHtml(catalog['page.noscript.title'])}</h1><p>${escapeHtml(catalog['page.noscript.text'])}</p></div></noscript>`,
  });
}

/** "<title> – <product>" with a brand, else the catalog's own form. */
function brandedTitle(ctx: PageContext, title: string, unbranded: string): string {
  return ctx.brand ? `${title} – ${ctx.brand.name}` : unbranded;
}

function brandHeader(brand: PageBrand | undefined): string {
  if (!brand) return '';
  const logo = brand.logoUrl ? `<img class="message-logo" src="${escapeHtml(brand.logoUrl)}" alt="">` : '';
  return `<div class="message-brand">${logo}<span>${escapeHtml(brand.name)}</span></div>\n`;
}

function messagePage(ctx: PageContext, title: string, heading: string, paragraphs: string[]): string {
  return htmlDocument(ctx, {
    title: brandedTitle(ctx, title, title),
    stylesheet: 'message.css',
    bodyClass: 'message',
    body: `<main class="message-page"><div class="message-card">
${brandHeader(ctx.brand)}<h1>${escapeHtml(heading)}</h1>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
</div></main>`,
  });
}

/** The 404 page for unknown, used or expired console links and sessions. */
export function renderInvalidSessionPage(ctx: PageContext = DEFAULT_CONTEXT): string {
  const catalog = catalogFor(ctx.lang);
  return messagePage(ctx, catalog['message.invalid.title'], catalog['message.invalid.heading'], [catalog['message.invalid.text'], catalog['message.invalid.detail']]);
}

/** A page saying why there is no console, in the words the console page itself would use. */
export function renderOutcomePage(ctx: PageContext, outcome: OutcomeCode): string {
  const catalog = catalogFor(ctx.lang);
  const heading = catalog[`outcome.${outcome}.title`];
  return messagePage(ctx, heading, heading, [catalog[`outcome.${outcome}.text`]]);
}

export function renderErrorPage(ctx: PageContext, title: MessageKey, text: MessageKey): string {
  const catalog = catalogFor(ctx.lang);
  return messagePage(ctx, catalog[title], catalog[title], [catalog[text]]);
}

/** A CSP source expression may not contain separators that would end or split the directive. */
const UNSAFE_SOURCE = /[\s;,'"]/;
const KEYWORD_SOURCE = /^'(self|none)'$/;

/**
 * Content-Security-Policy of the console and message pages. `frameAncestors` lists the sites that
 * may embed the console (e.g. 'https://panel.example.com'); empty means no embedding. The websocket
 * is same-origin, which CSP3's 'self' covers for ws:/wss: too. Throws on an entry that would break
 * the header, so configuration should call it once at start.
 */
export const CONSOLE_CSP = (frameAncestors: string[]): string => {
  for (const source of frameAncestors) {
    if (source === '' || (UNSAFE_SOURCE.test(source) && !KEYWORD_SOURCE.test(source))) {
      throw new TypeError(`invalid frame-ancestors source: ${JSON.stringify(source)}`);
    }
  }
  const ancestors = frameAncestors.length > 0 ? frameAncestors.join(' ') : "'none'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${ancestors}`,
  ].join('; ');
};
