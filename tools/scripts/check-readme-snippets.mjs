#!/usr/bin/env node
// Typechecks every TypeScript snippet of the READMEs against the built workspace packages, so a
// README never shows code that does not compile.
//
// - READMEs: README.md, packages/*/README.md, apps/*/README.md, tools/*/README.md.
// - Snippets: fenced blocks whose info string starts with `ts` or `typescript`. A block whose info
//   string also says `no-check` (```ts no-check) is skipped; keep those rare and partial on purpose.
// - Each snippet is checked on its own, as an ES module (top-level await allowed), so it must import
//   what it uses and declare what it assumes (`declare const pool: Pool;`).
// - Imports of `@es/*` resolve to the workspace packages through their exports maps, i.e. to their
//   built types (packages/*/dist): run the build first. Other packages (pg, mongodb,
//   @electric-sql/pglite, ...) resolve to the copies the workspace packages depend on.
// - Errors are reported as README:line, then the compiler's message.
//
// The snippets are written to .readme-snippets/ (git-ignored) with a tsconfig and a node_modules
// folder of links, and `tsc --noEmit` runs once over all of them.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const workDir = join(root, '.readme-snippets');
const workspaceFolders = ['packages', 'apps', 'tools'];

function readmes() {
  const found = ['README.md'];
  for (const folder of workspaceFolders) {
    for (const name of readdirSync(join(root, folder)).sort()) {
      const readme = join(folder, name, 'README.md');
      if (existsSync(join(root, readme))) found.push(readme);
    }
  }
  return found;
}

/** The ```ts blocks of one README: { readme, line (of the first code line), code }. */
function snippetsOf(readme) {
  const lines = readFileSync(join(root, readme), 'utf8').split('\n');
  const snippets = [];
  let skipped = 0;
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(\S*)(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, language, rest] = open;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !close.test(lines[end])) end++;
    if (/^(ts|typescript)$/i.test(language)) {
      if (/\bno-check\b/.test(rest)) skipped++;
      else {
        const code = lines
          .slice(i + 1, end)
          .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line));
        snippets.push({ readme, line: i + 2, code: code.join('\n') });
      }
    }
    i = end;
  }
  return { snippets, skipped };
}

/**
 * A node_modules folder for the snippets: @es/* are the workspace packages themselves (resolved
 * through their exports maps to the built types, as a user's project would), and every other
 * package is the copy a workspace package depends on.
 */
function linkDependencies(modules) {
  const link = (name, target) => {
    const path = join(modules, name);
    if (existsSync(path)) return;
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(target, path, 'junction');
  };
  for (const name of readdirSync(join(root, 'packages')).sort()) {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
    link(pkg.name, join(root, 'packages', name));
  }
  const folders = [join(root, 'node_modules')];
  for (const folder of workspaceFolders) {
    for (const name of readdirSync(join(root, folder)).sort())
      folders.push(join(root, folder, name, 'node_modules'));
  }
  for (const folder of folders.filter((path) => existsSync(path))) {
    for (const entry of readdirSync(folder)) {
      if (entry.startsWith('.')) continue;
      if (!entry.startsWith('@')) link(entry, realpathSync(join(folder, entry)));
      else
        for (const scoped of readdirSync(join(folder, entry)))
          link(`${entry}/${scoped}`, realpathSync(join(folder, entry, scoped)));
    }
  }
}

const all = [];
let skipped = 0;
for (const readme of readmes()) {
  const found = snippetsOf(readme);
  all.push(...found.snippets);
  skipped += found.skipped;
}

const missing = readdirSync(join(root, 'packages')).filter(
  (name) => !existsSync(join(root, 'packages', name, 'dist', 'index.d.ts')),
);
if (missing.length > 0) {
  console.error(
    `check-readme-snippets: build the packages first (no dist/index.d.ts in ${missing.join(', ')})`,
  );
  process.exit(1);
}

rmSync(workDir, { recursive: true, force: true });
mkdirSync(workDir, { recursive: true });
const byFile = new Map();
for (const [index, snippet] of all.entries()) {
  const file = `${String(index + 1).padStart(3, '0')}-${snippet.readme.replace(/[/\\]/g, '_').replace(/\.md$/, '')}-${snippet.line}.mts`;
  // `export {}` last, so the snippet's lines keep their numbers.
  writeFileSync(join(workDir, file), `${snippet.code}\nexport {};\n`);
  byFile.set(file, snippet);
}

linkDependencies(join(workDir, 'node_modules'));
const tsconfig = {
  extends: '../tsconfig.base.json',
  compilerOptions: {
    noEmit: true,
    declaration: false,
    sourceMap: false,
    // Snippets show usage; a value they compute and do not use is fine.
    noUnusedLocals: false,
    noUnusedParameters: false,
  },
  files: [...byFile.keys()],
};
writeFileSync(join(workDir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);

let output = '';
try {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', workDir, '--pretty', 'false'],
    {
      cwd: workDir,
      encoding: 'utf8',
      stdio: 'pipe',
    },
  );
} catch (error) {
  output = `${error.stdout ?? ''}${error.stderr ?? ''}`;
  if (!output.trim()) throw error;
}

let errors = 0;
for (const line of output.split('\n')) {
  if (!line.trim()) continue;
  const located = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line);
  const snippet = located && byFile.get(located[1].replace(/^.*[/\\]/, ''));
  if (located && snippet) {
    errors++;
    console.error(`${snippet.readme}:${snippet.line + Number(located[2]) - 1}:${located[3]} ${located[4]}`);
  } else if (/^\s/.test(line)) {
    console.error(line); // the continuation of the previous message
  } else {
    errors++;
    console.error(line);
  }
}

const readmeCount = new Set(all.map((snippet) => snippet.readme)).size;
const summary = `${all.length} snippet(s) in ${readmeCount} README(s)${skipped > 0 ? `, ${skipped} marked no-check` : ''}`;
if (errors > 0) {
  console.error(`check-readme-snippets: ${errors} error(s) in ${summary}`);
  process.exit(1);
}
console.log(`check-readme-snippets: ${summary} compile`);
