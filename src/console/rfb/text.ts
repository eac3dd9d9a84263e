/** Server reasons are shown and logged: keep them printable and drop QEMU's trailing NUL. */
export function decodeReason(bytes: Buffer): string {
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  return bytes.toString('utf8').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

/** UTF-8 bytes of `text`, at most `max` of them, never cutting a character in half. */
export function truncateUtf8(text: string, max: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return bytes;
  let end = max;
  // Back off continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}
