import { test } from 'node:test';
import assert from 'node:assert/strict';
import { en } from '../../src/console/i18n/en.js';
import { CONSOLE_CSP, escapeHtml, renderConsolePage, renderErrorPage, renderInvalidSessionPage, renderOutcomePage, type ConsolePageOptions } from '../../src/console/pages.js';

const CTX = { assetBase: '/assets/', lang: 'en' };

const HOSTILE_TITLE = `</script><script>alert(1)</script> "quoted" 'single' & <b>bold</b> \u2028`;

function page(overrides: Partial<ConsolePageOptions> = {}): string {
  return renderConsolePage({ sessionId: 'abc123', title: 'web01', consoleKind: 'novnc', viewOnly: false, ...CTX, ...overrides });
}

function optionsBlock(html: string): string {
  const match = html.match(/<script type="application\/json" id="console-options">([\s\S]*?)<\/script>/);
  assert.ok(match?.[1] !== undefined, 'options block present');
  return match[1];
}

test('escapeHtml escapes the five HTML-significant characters', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('a hostile title cannot break out of the title element or the JSON block', () => {
  const html = page({ title: HOSTILE_TITLE });
  assert.ok(!html.includes('<script>alert(1)'), 'no injected script element');
  assert.ok(!html.includes('<b>'), 'no injected markup');
  assert.match(html, /<title>&lt;\/script&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt; &quot;quoted&quot; &#39;single&#39; &amp; &lt;b&gt;bold&lt;\/b&gt; \u2028 – Console<\/title>/);
  const json = optionsBlock(html);
  assert.ok(!json.includes('<'), 'no raw < inside the JSON block');
  assert.deepEqual(JSON.parse(json), { sessionId: 'abc123', title: HOSTILE_TITLE, consoleKind: 'novnc', viewOnly: false, lang: 'en', strings: en, frameAncestors: [] });
});

test('the session id and asset base are escaped too', () => {
  const html = page({ sessionId: '"><img src=x>', assetBase: '/a"b/' });
  assert.ok(!html.includes('<img'), 'no injected element');
  assert.ok(html.includes('src="/a&quot;b/vnc.js"'));
  assert.equal(JSON.parse(optionsBlock(html)).sessionId, '"><img src=x>');
});

test('the console page loads its bundle as a module from the asset base and passes the options', () => {
  const html = page({ viewOnly: true, assetBase: '/prefix/assets/' });
  assert.ok(html.startsWith('<!doctype html>'));
  assert.ok(html.includes('<script type="module" src="/prefix/assets/vnc.js"></script>'));
  assert.ok(html.includes('<link rel="stylesheet" href="/prefix/assets/vnc.css">'));
  assert.deepEqual(JSON.parse(optionsBlock(html)), { sessionId: 'abc123', title: 'web01', consoleKind: 'novnc', viewOnly: true, lang: 'en', strings: en, frameAncestors: [] });
  assert.ok(page({ consoleKind: 'xterm' }).includes('src="/assets/term.js"'));
});

for (const [name, html] of [
  ['console page', page({ title: HOSTILE_TITLE })],
  ['xterm console page', page({ consoleKind: 'xterm' })],
  ['invalid-session page', renderInvalidSessionPage()],
  ['error page', renderErrorPage(CTX, 'message.unavailable.title', 'message.failed.text')],
  ['outcome page', renderOutcomePage(CTX, 'link_used')],
] as const) {
  test(`${name} has no inline script or style`, () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.equal(scripts.length, (html.match(/<script\b/gi) ?? []).length, 'every script tag is closed');
    for (const [, attrs = '', body = ''] of scripts) {
      const external = /\bsrc="[^"]+"/.test(attrs) && body === '';
      const data = /\btype="application\/json"/.test(attrs);
      assert.ok(external || data, `script with attributes "${attrs}" is neither external nor JSON data`);
    }
    assert.doesNotMatch(html, /\sstyle\s*=/i, 'no style attribute');
    assert.doesNotMatch(html, /<style\b/i, 'no style element');
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handler');
  });
}

test('the invalid-session page says so and explains that links work once and expire', () => {
  const html = renderInvalidSessionPage();
  assert.ok(html.includes('Invalid session.'));
  assert.match(html, /work only once/);
  assert.match(html, /expire/);
  assert.ok(html.includes('href="/assets/message.css"'));
});

test('the error and outcome pages say what the catalog says, in the page language', () => {
  const error = renderErrorPage(CTX, 'message.unavailable.title', 'message.busy.text');
  assert.ok(error.includes(`<h1>${en['message.unavailable.title']}</h1>`));
  assert.ok(error.includes(`<p>${en['message.busy.text']}</p>`));
  assert.ok(error.includes('<html lang="en">'));
  const outcome = renderOutcomePage(CTX, 'frame_insecure');
  assert.ok(outcome.includes(`<h1>${escapeHtml(en['outcome.frame_insecure.title'])}</h1>`));
  assert.ok(outcome.includes(escapeHtml(en['outcome.frame_insecure.text'])));
});

test('the CSP forbids everything but same-origin resources and framing by default', () => {
  assert.equal(
    CONSOLE_CSP([]),
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
});

test('the CSP lists the configured frame ancestors', () => {
  const csp = CONSOLE_CSP(['https://panel.example.com', "'self'", 'https://*.example.org']);
  assert.ok(csp.endsWith("; frame-ancestors https://panel.example.com 'self' https://*.example.org"));
  assert.doesNotMatch(csp, /frame-ancestors 'none'/);
});

test('the CSP refuses a frame ancestor that would inject a directive', () => {
  assert.throws(() => CONSOLE_CSP(["https://a.example; script-src 'unsafe-inline'"]), TypeError);
  assert.throws(() => CONSOLE_CSP(['https://a.example, https://b.example']), TypeError);
  assert.throws(() => CONSOLE_CSP(['']), TypeError);
  assert.throws(() => CONSOLE_CSP(["'unsafe-inline'"]), TypeError);
});
