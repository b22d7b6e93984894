import { defineConfig } from 'tsup';

// Two builds: the library entry (ESM and CJS, with types) and the `es` binary (ESM, with a shebang).
// The workspace packages and drivers stay external: they are dependencies, installed beside it.
const external = ['@es/core', '@es/replay', '@es/store-postgres', '@es/store-mongo'];

export default defineConfig([
  {
    entry: ['src/index.ts'],
    external,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
  },
  {
    entry: { cli: 'src/cli.ts' },
    external,
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
