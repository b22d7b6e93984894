import { cpSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // The migration files are bundled into the code (imported as JSON); a copy ships beside it so
  // that operators can read or apply them with their own tools.
  onSuccess: async () => {
    cpSync('../../migrations/mongo', 'dist/migrations/mongo', { recursive: true });
  },
});
