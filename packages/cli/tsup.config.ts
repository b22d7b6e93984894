import { defineConfig } from 'tsup';

// One build (two would race: the first one's `clean` can delete the other's output): the library
// entry (ESM and CJS, with types) and the `es` binary, dist/cli.js. Every file starts with the
// shebang the binary needs; Node ignores it in the others. The workspace packages stay external:
// they are dependencies, installed beside it.
export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
  external: ['@es/core', '@es/replay', '@es/store-postgres', '@es/store-mongo'],
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  banner: { js: '#!/usr/bin/env node' },
});
