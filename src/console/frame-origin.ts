/**
 * The origin a framed console page may tell what happens, or null: only an ancestor that
 * `frame_ancestors` allows, named exactly (postMessage's target origin is never "*", so no other
 * page can listen in). Pure: the browser bundle uses it, the unit tests hold it.
 *
 * `parentOrigin` is the embedding page's origin where the browser says it (Chromium and Safari's
 * location.ancestorOrigins); without it, only a single exactly named ancestor can be assumed.
 */
export function frameTargetOrigin(allowed: readonly string[], ownOrigin: string, parentOrigin: string | undefined): string | null {
  const exact = allowed.map((source) => (source === "'self'" ? ownOrigin : source));
  if (parentOrigin === undefined) {
    const named = exact.filter((source) => !source.includes('*'));
    return named.length === 1 ? named[0]! : null;
  }
  return exact.some((source) => matchesSource(source, parentOrigin)) ? parentOrigin : null;
}

/** CSP source matching for the forms frame_ancestors takes: an origin, or `scheme://*.host[:port]`. */
function matchesSource(source: string, origin: string): boolean {
  if (source === origin) return true;
  const wildcard = /^(https?:)\/\/\*\.([^/:]+)(:\d+)?$/.exec(source);
  if (!wildcard) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const [, scheme, host, port = ''] = wildcard;
  return url.protocol === scheme && url.hostname.endsWith(`.${host}`) && (port === '' ? url.port === '' : `:${url.port}` === port);
}
