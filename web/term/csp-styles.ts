/**
 * xterm.js 6 writes its measured cell size and its theme into <style> elements it creates, and
 * the colours of true-colour cells into style attributes. The page's CSP allows neither in
 * markup (style-src 'self' and this answer's nonce, no 'unsafe-inline'), and a refused style is
 * an error in the console and a broken terminal. So, before the terminal is made: every style
 * element a script creates gets the answer's nonce, and a script's setAttribute('style') goes
 * through the CSSOM (element.style), which CSP leaves to scripts: the same declarations, no
 * refusal. Styles in the served markup remain forbidden.
 */
export function allowScriptStyles(nonce: string | undefined): void {
  if (nonce) {
    const createElement = Document.prototype.createElement;
    Document.prototype.createElement = function (this: Document, tagName: string, options?: ElementCreationOptions): HTMLElement {
      const element = createElement.call(this, tagName, options);
      if (element instanceof HTMLStyleElement) element.nonce = nonce;
      return element;
    } as typeof Document.prototype.createElement;
  }
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (this: Element, name: string, value: string): void {
    if (name.toLowerCase() === 'style' && (this instanceof HTMLElement || this instanceof SVGElement)) {
      this.style.cssText = value;
      return;
    }
    setAttribute.call(this, name, value);
  };
}
