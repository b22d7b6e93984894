#!/usr/bin/env node
// Every public export has a doc comment: for each publishable package under packages/, every name
// its src/index.ts exports (functions, classes, constants, interfaces, types, enums) must be
// declared with a JSDoc comment (`/** ... */`) that says something, or carries a tag such as
// @example or @deprecated. A plain `//` comment does not count: editors and the published .d.ts
// show only JSDoc.
//
// Uses the TypeScript compiler API with each package's own tsconfig.json, so re-exports are followed
// to the declaration they name. Prints one line per undocumented export, with its file and line.
//   node tools/scripts/check-doc-comments.mjs [package-dir...]   (default: every package)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * Exports allowed to stay undocumented for a while, by package: reported, not failed. Empty: every
 * export is documented. A name listed here that gains a doc comment is reported too, to be removed.
 */
const PENDING = {};
const only = process.argv.slice(2);
let missing = 0;

for (const dir of readdirSync(join(root, 'packages')).sort()) {
  if (only.length > 0 && !only.includes(dir)) continue;
  const pkgDir = join(root, 'packages', dir);
  const entry = join(pkgDir, 'src', 'index.ts');
  if (!existsSync(entry)) continue;
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.private) continue;

  const config = ts.getParsedCommandLineOfConfigFile(
    join(pkgDir, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  // The main entry, then each subpath export with a source file of its name (./adapter: src/adapter.ts).
  const entries = [[pkg.name, entry]];
  for (const subpath of Object.keys(pkg.exports ?? {})) {
    const source = join(pkgDir, 'src', `${subpath.slice(2)}.ts`);
    if (subpath.startsWith('./') && existsSync(source))
      entries.push([`${pkg.name}/${subpath.slice(2)}`, source]);
  }
  const program = ts.createProgram(
    entries.map(([, file]) => file),
    { ...config.options, noEmit: true },
  );
  const checker = program.getTypeChecker();
  for (const [label, file] of entries)
    checkEntry(label, file, label === pkg.name ? (PENDING[pkg.name] ?? []) : []);

  function checkEntry(entryLabel, entryFile, pendingNames) {
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entryFile));
    const exported = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
    const pending = new Set(pendingNames);
    const undocumented = [];
    let stillPending = 0;
    for (const symbol of exported) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const declarations = target.declarations ?? [];
      const documented = declarations.length === 0 || declarations.some(hasDocComment);
      if (pending.delete(symbol.name)) {
        if (documented)
          console.log(`${entryLabel}: ${symbol.name} is documented now: remove it from PENDING`);
        else stillPending++;
        continue;
      }
      if (documented) continue;
      const declaration = declarations[0];
      const file = declaration.getSourceFile();
      const { line } = file.getLineAndCharacterOfPosition(declaration.getStart(file));
      undocumented.push(`${symbol.name} (${relative(root, file.fileName)}:${line + 1})`);
    }
    for (const entryName of undocumented) console.error(`${entryLabel}: no doc comment on ${entryName}`);
    for (const name of pending)
      console.log(`${entryLabel}: ${name} is no longer exported: remove it from PENDING`);
    missing += undocumented.length;
    const summary =
      undocumented.length === 0 && stillPending === 0
        ? 'all documented'
        : `${undocumented.length} without a doc comment, ${stillPending} pending (see PENDING)`;
    console.log(`${entryLabel}: ${exported.length} exports, ${summary}`);
  }
}

// A JSDoc block on the declaration (for `export const x = ...`, on its statement) with text or a tag.
function hasDocComment(declaration) {
  return ts
    .getJSDocCommentsAndTags(declaration)
    .some((doc) =>
      ts.isJSDoc(doc)
        ? textOf(doc.comment) !== '' || (doc.tags?.length ?? 0) > 0
        : textOf(doc.comment) !== '',
    );
}

function textOf(comment) {
  if (comment === undefined) return '';
  if (typeof comment === 'string') return comment.trim();
  return comment
    .map((part) => part.text)
    .join('')
    .trim();
}

if (missing > 0) {
  console.error(
    `check-doc-comments: ${missing} public export(s) without a doc comment; add a /** ... */ comment to each`,
  );
  process.exit(1);
}
