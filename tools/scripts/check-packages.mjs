#!/usr/bin/env node
// Checks what would be published, for every publishable package under packages/:
//  1. publint finds no error or warning in package.json / exports;
//  2. the package loads by its published name through its exports map, as ESM and as CJS, and both
//     expose the same names (packages that only run under jest, like @es/testing, are checked by
//     their own tests instead);
//  3. it ships the repository's LICENSE and says where it comes from: `repository` (with its
//     folder as `directory`), `homepage` and `bugs`, the same repository for every package.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = new URL('../../packages/', import.meta.url).pathname;
const license = readFileSync(new URL('../../LICENSE', import.meta.url), 'utf8');
// A placeholder until the repository's public address is settled; change it here and in every
// packages/*/package.json together.
const repository = 'https://github.com/es-toolkit/es-toolkit';
const loadsOnlyUnderJest = new Set(['@es/testing']);
let failures = 0;

for (const dir of readdirSync(root).sort()) {
  const pkgDir = join(root, dir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  const { messages } = await publint({ pkgDir, level: 'warning', strict: true });
  for (const message of messages) {
    failures++;
    console.error(`${pkg.name}: publint ${message.type}: ${formatMessage(message, pkg)}`);
  }
  if (!loadsOnlyUnderJest.has(pkg.name)) failures += checkLoads(pkg.name, pkgDir);
  failures += checkMetadata(pkg, dir, pkgDir);
  console.log(`${pkg.name}: ${messages.length === 0 ? 'ok' : `${messages.length} publint problem(s)`}`);
}

function checkMetadata(pkg, dir, pkgDir) {
  const problems = [];
  let shipped = '';
  try {
    shipped = readFileSync(join(pkgDir, 'LICENSE'), 'utf8');
  } catch {
    // Reported below.
  }
  if (shipped !== license) problems.push('LICENSE is missing or differs from the repository root LICENSE');
  if (pkg.license !== 'MIT') problems.push(`license is ${JSON.stringify(pkg.license)}, not "MIT"`);
  const expected = {
    'repository.url': [pkg.repository?.url, `git+${repository}.git`],
    'repository.directory': [pkg.repository?.directory, `packages/${dir}`],
    homepage: [pkg.homepage, `${repository}/tree/main/packages/${dir}#readme`],
    'bugs.url': [pkg.bugs?.url, `${repository}/issues`],
  };
  for (const [field, [actual, wanted]] of Object.entries(expected)) {
    if (actual !== wanted)
      problems.push(`${field} is ${JSON.stringify(actual)}, expected ${JSON.stringify(wanted)}`);
  }
  for (const problem of problems) console.error(`${pkg.name}: ${problem}`);
  return problems.length;
}

function checkLoads(name, cwd) {
  // Self-reference: inside its own folder a package resolves its name through its exports map.
  const esm = `import * as m from '${name}'; console.log(JSON.stringify(Object.keys(m).sort()))`;
  const cjs = `console.log(JSON.stringify(Object.keys(require('${name}')).sort()))`;
  try {
    const esmNames = execFileSync('node', ['--input-type=module', '-e', esm], {
      cwd,
      encoding: 'utf8',
      stdio: 'pipe',
    }).trim();
    const cjsNames = execFileSync('node', ['-e', cjs], { cwd, encoding: 'utf8', stdio: 'pipe' }).trim();
    if (esmNames !== cjsNames || esmNames === '[]') {
      console.error(
        `${name}: ESM and CJS builds export different names:\n  esm ${esmNames}\n  cjs ${cjsNames}`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    console.error(`${name}: cannot be loaded by its published name: ${error.message}`);
    return 1;
  }
}

if (failures > 0) {
  console.error(`check-packages: ${failures} problem(s)`);
  process.exit(1);
}
