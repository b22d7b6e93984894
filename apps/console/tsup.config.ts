import { defineConfig } from 'tsup';

// An application, not a library: one ESM entry point, no type declarations.
export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
});
