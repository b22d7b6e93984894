// The `es` command line as a library: run it in-process (tests, wrappers) with your own streams.
export { CliError } from './errors.js';
export type { CliHandlerModule } from './handler-module.js';
export { loadHandlerModule } from './handler-module.js';
export type { CliIo } from './program.js';
export { runCli } from './program.js';
