import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/adapter.ts'],
  // One copy of shared code (the error classes) for both entries, in CommonJS too.
  splitting: true,
  // CommonJS splitting rewrites classes with fields (`_class2 = class ...`): keep their names.
  keepNames: true,
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
