// Bundles the browser code (noVNC 1.7 is ESM with top-level await: esm format, es2022) into dist/web:
// one script and one stylesheet per console kind (vnc, term), and the recording player's.
import { build } from 'esbuild';
import { cp, mkdir } from 'node:fs/promises';

const outdir = 'dist/web';
await mkdir(outdir, { recursive: true });
await build({
  entryPoints: ['web/vnc.ts', 'web/term.ts', 'web/player.ts'],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  outdir,
  loader: { '.css': 'css' },
  logLevel: 'warning',
});
await cp('web/static', outdir, { recursive: true });
