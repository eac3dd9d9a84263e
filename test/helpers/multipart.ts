import { randomBytes } from 'node:crypto';

/**
 * A multipart/form-data body of plain fields, as `curl -F` sends it, built by hand: as a request
 * body, undici's FormData fails on Node 24 and Node's own on Node 20 ("action is not a function").
 */
export function multipartForm(fields: Record<string, string>): { body: string; contentType: string } {
  const boundary = `----proxmoxvnc${randomBytes(12).toString('hex')}`;
  const parts = Object.entries(fields).map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  return { body: `${parts.join('')}--${boundary}--\r\n`, contentType: `multipart/form-data; boundary=${boundary}` };
}
