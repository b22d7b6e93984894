// Import rules between the workspace's projects, checked by dependency-cruiser as the first step
// of the root `test` script (so CI runs it); on its own:
//
//   npx -y pnpm@10.34.9 run check:imports
//
// It needs no build: an import of a package that is not built yet is matched by its name.
//
// What may import what (tools/ may import anything and is not checked):
//   @es/core                         nothing of the workspace
//   @es/testing                      @es/core
//   @es/snapshots, @es/replay        @es/core (and @es/testing from test files); no adapter or
//                                    database driver, not even in tests
//   @es/store-postgres, -mongo       @es/core (and @es/testing and @es/replay from test files, to
//                                    run the contract suites and projections on the adapter)
//   apps/*                           packages by their published names only
//   every project                    no other project through a relative path
//
// "Test files" are *.test.ts, *.int.test.ts, test/** and src/testing/**.
//
// A workspace import is seen in one of two forms, and every rule matches both: a path
// `packages/<dir>/...` (a relative import, or a name resolved through the exports map into dist/),
// or the bare name `@es/<dir>` (a name that does not resolve: the package is not built yet, or is
// not a dependency of the importer).

/** Matches a dependency on the workspace package in packages/<dir>, however it was reached. */
const pkg = (dir) => `^packages/${dir}/|^@es/${dir}(/|$)`;
/** Matches a dependency on anything of the workspace: a package, an app or a tool. */
const WORKSPACE = '^(packages|apps|tools)/|^@es(-samples)?/';
/** Database drivers: only adapters (and the apps that wire them) talk to a database. */
const DRIVERS =
  '(^|/)node_modules/(pg|pg-[^/]+|@electric-sql/pglite|mongodb)/|^(pg|mongodb|@electric-sql/pglite)(/|$)';
/** Files that only run under jest and may use the contract tests of @es/testing. */
const TEST_FILES = '\\.test\\.ts$|^packages/[^/]+/test/|^packages/[^/]+/src/testing/';

/**
 * TEMPORARY: files of @es/replay that exercise projections against PostgreSQL and so import
 * @es/store-postgres, pg or PGlite. They are to move into @es/store-postgres; delete each line
 * here when its file moves, and the list when it is empty. These exact files may import
 * @es/store-postgres and the database drivers and nothing else beyond the rules for replay; any
 * other file of @es/replay that does so fails the check.
 */
const REPLAY_POSTGRES_FILES_TO_MOVE = [];
/**
 * TEMPORARY: test helpers of @es/store-postgres that live in src/ under names that are not test
 * file names, and import @es/testing. They are test-only (nothing published imports them); move
 * them to src/testing/ (or name them *.test.ts) and delete this list.
 */
const STORE_POSTGRES_TEST_HELPERS_TO_RENAME = [];
/**
 * One regular expression matching exactly the given paths. An empty list gives '^$', which matches
 * no path (dependency-cruiser reads an empty array as "anything", so a list emptied by moving its
 * last file must not widen a rule).
 */
const exactly = (files) =>
  files.length === 0
    ? '^$'
    : files.map((file) => `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`).join('|');

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-no-workspace-package',
      comment: '@es/core is the base of every package: it imports nothing of the workspace.',
      severity: 'error',
      from: { path: '^packages/core/' },
      to: { path: WORKSPACE, pathNot: pkg('core') },
    },
    {
      name: 'testing-imports-only-core',
      comment: '@es/testing (contract tests and helpers) imports only @es/core.',
      severity: 'error',
      from: { path: '^packages/testing/' },
      to: { path: WORKSPACE, pathNot: [pkg('core'), pkg('testing')] },
    },
    {
      name: 'snapshots-and-replay-import-only-core',
      comment:
        '@es/snapshots and @es/replay build on @es/core only (@es/testing in test files, see ' +
        'testing-only-from-test-files); they import no adapter, not even in tests.',
      severity: 'error',
      from: { path: '^packages/(snapshots|replay)/', pathNot: exactly(REPLAY_POSTGRES_FILES_TO_MOVE) },
      to: { path: WORKSPACE, pathNot: [pkg('core'), pkg('testing'), '^packages/$1/|^@es/$1$'] },
    },
    {
      name: 'temporary-replay-postgres-files',
      comment:
        'The files in REPLAY_POSTGRES_FILES_TO_MOVE may import @es/store-postgres until they move ' +
        'into it, and nothing else of the workspace beyond what replay may import.',
      severity: 'error',
      from: { path: exactly(REPLAY_POSTGRES_FILES_TO_MOVE) },
      to: { path: WORKSPACE, pathNot: [pkg('core'), pkg('testing'), pkg('replay'), pkg('store-postgres')] },
    },
    {
      name: 'no-database-driver-outside-adapters',
      comment:
        'Only the adapters (@es/store-postgres, @es/store-mongo) and the apps import pg, PGlite or ' +
        'mongodb; core, testing, snapshots and replay do not, not even in tests.',
      severity: 'error',
      from: {
        path: '^packages/(core|testing|snapshots|replay)/',
        pathNot: exactly(REPLAY_POSTGRES_FILES_TO_MOVE),
      },
      to: { path: DRIVERS },
    },
    {
      name: 'adapters-import-only-core',
      comment:
        'The store adapters import @es/core (and @es/testing in test files), no other package. ' +
        'Their test files may also use @es/replay (see adapter-tests-may-use-replay).',
      severity: 'error',
      from: { path: '^packages/(store-postgres|store-mongo)/', pathNot: TEST_FILES },
      to: { path: WORKSPACE, pathNot: [pkg('core'), pkg('testing'), '^packages/$1/|^@es/$1$'] },
    },
    {
      name: 'adapter-tests-may-use-replay',
      comment:
        'A test file of an adapter (*.test.ts, test/**, src/testing/**) may import @es/replay (to ' +
        'run projections on the adapter) and @es/testing besides @es/core, by package name; never ' +
        'another adapter, an app or a tool.',
      severity: 'error',
      from: { path: '^packages/(store-postgres|store-mongo)/(?:.*\\.test\\.ts$|test/|src/testing/)' },
      to: {
        path: WORKSPACE,
        pathNot: [pkg('core'), pkg('testing'), pkg('replay'), '^packages/$1/|^@es/$1(/|$)'],
      },
    },
    {
      name: 'testing-only-from-test-files',
      comment:
        '@es/testing is a devDependency: packages use it only from *.test.ts, *.int.test.ts, ' +
        'test/** and src/testing/**, never from code that is published.',
      severity: 'error',
      from: {
        path: '^packages/(?!testing/)',
        pathNot: [TEST_FILES, exactly(STORE_POSTGRES_TEST_HELPERS_TO_RENAME)],
      },
      to: { path: pkg('testing') },
    },
    {
      name: 'apps-import-projects-by-name',
      comment:
        'Apps use packages (and other apps) through their published names (@es/...), never a ' +
        'relative path into packages/*/src, packages/*/dist or another app.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^(packages|apps)/', pathNot: '^apps/$1/', dependencyTypes: ['local'] },
    },
    {
      name: 'apps-never-reach-package-sources',
      comment:
        'Nor through an alias (a tsconfig path, a bundler alias): an app never depends on the ' +
        'sources of a package, only on what it publishes.',
      severity: 'error',
      from: { path: '^apps/' },
      to: { path: '^packages/[^/]+/src/', dependencyTypesNot: ['local'] },
    },
    {
      name: 'no-relative-import-across-packages',
      comment:
        'A package reaches another project through its package name, never a relative path ' +
        '(that would bypass its exports map and its build).',
      severity: 'error',
      from: { path: '^packages/([^/]+)/' },
      to: { path: '^(packages|apps)/', pathNot: '^packages/$1/', dependencyTypes: ['local'] },
    },
  ],
  options: {
    // Record dependencies on node_modules and on built dist/ files, but do not cruise into them.
    doNotFollow: { path: '(^|/)(node_modules|dist)/' },
    exclude: { path: '(^|/)coverage/' },
    // `import type` counts: a type-only import of an adapter still couples the two.
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.mts', '.cts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
