#!/usr/bin/env node
// A package whose build copies files from outside its folder must name them in its Nx build
// inputs, or an edit to those files is a cache hit and the package's dist keeps the old copy.
// Today: the store packages ship the repository's migrations/<store>/ (see their tsup.config.ts).
// For every package whose tsup.config.ts reads migrations/<name>, this asks Nx for the build
// target's resolved inputs and requires one that covers {workspaceRoot}/migrations/<name>.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const nxPackage = createRequire(join(root, 'package.json')).resolve('nx/package.json');
const nxBin = JSON.parse(readFileSync(nxPackage, 'utf8')).bin;
const nx = join(dirname(nxPackage), typeof nxBin === 'string' ? nxBin : nxBin.nx);
let failures = 0;
let checked = 0;

for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const config = join(root, 'packages', dir, 'tsup.config.ts');
  if (!existsSync(config)) continue;
  // join(..., 'migrations', 'postgres') or '../../migrations/mongo'
  const folders = new Set(
    [...readFileSync(config, 'utf8').matchAll(/migrations(?:'\s*,\s*'|\/)([\w-]+)/g)].map(
      (match) => match[1],
    ),
  );
  if (folders.size === 0) continue;
  const { name } = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
  const project = JSON.parse(
    execFileSync(process.execPath, [nx, 'show', 'project', name, '--json'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    }),
  );
  const inputs = (project.targets?.build?.inputs ?? []).filter((input) => typeof input === 'string');
  for (const folder of folders) {
    checked++;
    const wanted = `{workspaceRoot}/migrations/${folder}`;
    if (inputs.some((input) => input === wanted || input.startsWith(`${wanted}/`))) {
      console.log(`${name}: build inputs include ${wanted}`);
    } else {
      failures++;
      console.error(
        `${name}: tsup.config.ts copies migrations/${folder}, but the build inputs (${JSON.stringify(inputs)}) ` +
          `do not include "${wanted}/**/*": an edited migration would be a cache hit. Add it under "nx" in ` +
          `packages/${dir}/package.json.`,
      );
    }
  }
}

if (checked === 0) {
  console.error('check-build-inputs: no package copies migrations any more; update or remove this check');
  process.exit(1);
}
if (failures > 0) process.exit(1);
