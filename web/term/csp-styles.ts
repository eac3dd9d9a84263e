/**
 * xterm.js 6 writes its measured cell size and its theme into <style> elements it creates, and the
 * colours of true-colour cells into style attributes. Under the page's CSP (style-src 'self', no
 * 'unsafe-inline', and a static page cannot carry a nonce) the browser ignores both: rows collapse
 * and colours are lost. Constructed stylesheets and CSSOM declarations are not subject to
 * style-src, so this mirrors each into one of those, kept up to date as xterm.js rewrites them.
 * The terminal lives as long as the page, so sheets are never taken away again.
 */
export function adoptInlineStyles(root: HTMLElement): void {
  const sheets = new Map<HTMLStyleElement, CSSStyleSheet>();

  const mirrorStyleElement = (style: HTMLStyleElement): void => {
    let sheet = sheets.get(style);
    if (!sheet) {
      sheet = new CSSStyleSheet();
      sheets.set(style, sheet);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }
    sheet.replaceSync(style.textContent ?? '');
  };
  const applyStyleAttribute = (element: Element): void => {
    if (!(element instanceof HTMLElement)) return;
    const declared = element.getAttribute('style');
    // A blocked attribute stays in the DOM while the element's declarations stay empty.
    if (declared && element.style.length === 0) element.style.cssText = declared;
  };
  const mirrorTree = (node: Node): void => {
    if (!(node instanceof HTMLElement)) return;
    if (node instanceof HTMLStyleElement) mirrorStyleElement(node);
    applyStyleAttribute(node);
    for (const style of node.querySelectorAll('style')) mirrorStyleElement(style);
    for (const styled of node.querySelectorAll('[style]')) applyStyleAttribute(styled);
  };

  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === 'attributes') {
        applyStyleAttribute(record.target as Element);
        continue;
      }
      // xterm.js replaces a style element's text, which shows as a change of its children.
      const owner = record.type === 'characterData' ? record.target.parentNode : record.target;
      if (owner instanceof HTMLStyleElement) mirrorStyleElement(owner);
      for (const added of record.addedNodes) mirrorTree(added);
    }
  }).observe(root, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['style'] });
  mirrorTree(root);
}
