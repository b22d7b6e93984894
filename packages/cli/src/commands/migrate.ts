import type { Command } from 'commander';
import { toJson } from '../format.js';
import type { CommandContext } from './context.js';

/** `es migrate`: apply (or, with --dry-run, show) the pending store migrations. */
export function registerMigrateCommands(program: Command, context: CommandContext): void {
  const { withBackend, print, sub } = context;

  sub(program, 'migrate')
    .description('apply the store migrations that are not applied yet (idempotent)')
    .option('--dry-run', 'print what would be applied (the SQL, for PostgreSQL) and change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        const report = await backend.migrate(options.dryRun === true);
        if (options.json) return print(toJson({ dryRun: options.dryRun === true, ...report }));
        if (options.dryRun) {
          if (report.pending.length === 0)
            return print(`-- Nothing to apply: ${backend.description} is up to date.`);
          print(
            `-- Dry run: ${report.pending.length} migration(s) would be applied to ${backend.description}.`,
          );
          for (const item of report.pending) print(`\n-- ${item.name}\n${item.text.trimEnd()}`);
          return;
        }
        for (const name of report.applied) print(`applied ${name}`);
        print(
          report.applied.length === 0
            ? `Up to date (${report.alreadyApplied.length} migration(s) already applied).`
            : `Applied ${report.applied.length} migration(s); ${report.alreadyApplied.length} were already applied.`,
        );
      });
    });
}
