#!/usr/bin/env node
// Checks what would be published, for every publishable package under packages/:
//  1. publint finds no error or warning in package.json / exports, and Are the Types Wrong (attw,
//     strict profile) finds no problem in the `npm pack` tarball: every entry point resolves to
//     types of the right module kind (ESM for `import`, CJS for `require`) under node10, node16
//     from CJS and from ESM, and bundler resolution;
//  2. the package loads by its published name through its exports map, as ESM and as CJS, and both
//     expose the same names (packages that only run under jest, like @es/testing, are checked by
//     their own tests instead);
//  3. it ships the repository's LICENSE and says where it comes from: `repository` (with its
//     folder as `directory`), `homepage` and `bugs`, the same repository for every package.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = new URL('../../packages/', import.meta.url).pathname;
const license = readFileSync(new URL('../../LICENSE', import.meta.url), 'utf8');
// A placeholder until the repository's public address is settled; change it here and in every
// packages/*/package.json together.
const repository = 'https://github.com/es-toolkit/es-toolkit';
const loadsOnlyUnderJest = new Set(['@es/testing']);
const attwPackage = createRequire(import.meta.url).resolve('@arethetypeswrong/cli/package.json');
const attw = join(dirname(attwPackage), JSON.parse(readFileSync(attwPackage, 'utf8')).bin.attw);
const packDir = mkdtempSync(join(tmpdir(), 'check-packages-'));
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
  const typeProblems = checkTypes(pkg.name, pkgDir);
  failures += typeProblems;
  if (!loadsOnlyUnderJest.has(pkg.name)) {
    // The main entry and every subpath export (but package.json), e.g. @es/core/adapter.
    const subpaths = Object.keys(pkg.exports ?? {}).filter((key) => key !== '.' && !key.endsWith('.json'));
    for (const specifier of [pkg.name, ...subpaths.map((key) => `${pkg.name}${key.slice(1)}`)]) {
      failures += checkLoads(specifier, pkgDir);
    }
  }
  failures += checkMetadata(pkg, dir, pkgDir);
  const publintResult = messages.length === 0 ? 'ok' : `${messages.length} problem(s)`;
  console.log(`${pkg.name}: publint ${publintResult}, attw ${typeProblems === 0 ? 'ok' : 'problems'}`);
}
rmSync(packDir, { recursive: true, force: true });

// Packs the package as publishing does (`pnpm pack`: its `files`, workspace: ranges replaced) and
// runs attw on the tarball. Returns 1 when attw reports a problem (its table is printed), else 0.
// Like publint, this needs pnpm on the PATH: run it through `pnpm test` or `pnpm exec`.
function checkTypes(name, cwd) {
  let tarball;
  try {
    tarball = JSON.parse(
      execFileSync(
        'pnpm',
        ['pack', '--json', '--pack-destination', packDir, '--config.ignore-scripts=true'],
        {
          cwd,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ),
    ).filename;
    execFileSync(
      process.execPath,
      [attw, tarball, '--profile', 'strict', '--format', 'ascii', '--no-color', '--no-emoji'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return 0;
  } catch (error) {
    const report = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || error.message;
    console.error(`${name}: attw: ${report.replaceAll('\n', `\n  `)}`);
    return 1;
  } finally {
    if (tarball) rmSync(tarball, { force: true });
  }
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
