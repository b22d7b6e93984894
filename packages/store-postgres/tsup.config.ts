import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'tsup';

// The SQL migrations live at the repository root (migrations/postgres, runnable with psql) and ship
// inside the package as dist/migrations/postgres, where `migrate()` finds them.
const source = join(__dirname, '..', '..', 'migrations', 'postgres');
const target = join(__dirname, 'dist', 'migrations', 'postgres');

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  shims: true,
  target: 'node20',
  async onSuccess() {
    mkdirSync(target, { recursive: true });
    for (const file of readdirSync(source).filter((name) => /^\d{3}_.+\.sql$/.test(name))) {
      cpSync(join(source, file), join(target, file));
    }
  },
});
