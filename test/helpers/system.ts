import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Path of an executable on PATH, or null. */
export function findExecutable(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

/**
 * Tests that drive a real system program fail, never skip, when it is missing: the message names
 * the Debian package to install (scripts/install-system-deps.sh installs them all).
 */
export function requireExecutable(name: string, debianPackage: string): string {
  const found = findExecutable(name);
  if (!found) {
    throw new Error(`${name} is not installed: apt-get install ${debianPackage} (or run bash scripts/install-system-deps.sh)`);
  }
  return found;
}
