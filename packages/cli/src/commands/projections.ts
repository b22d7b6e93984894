import type { Position } from '@es/core';
import type { Command } from 'commander';
import type { Backend, CheckpointRow, GroupRow } from '../backends/backend.js';
import { CliError, usageError } from '../errors.js';
import { duration, table, toJson } from '../format.js';
import { type CommandContext, integer, position } from './context.js';
import { replayInto, withHandlerModule } from './shared.js';

/** Lag counts stop here: counting more would read the whole backlog for a number nobody needs exactly. */
const LAG_LIMIT = 1_000_000;

/** `es projections list|status|reset|rewind|rebuild`. */
export function registerProjectionsCommands(program: Command, context: CommandContext): void {
  const { io, withBackend, print, sub } = context;

  const projections = sub(program, 'projections').description(
    'projections and consumer groups: checkpoints, lag, parked events, leases; reset, rewind, rebuild',
  );
  sub(projections, 'list')
    .description('every subscription with a checkpoint or a consumer group: checkpoint, lag, parked, owners')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        await backend.assertMigrated();
        const all = await describeAll(backend);
        if (options.json) return print(toJson(all.map(summaryJson)));
        print(
          table(
            ['NAME', 'KIND', 'PARTITIONS', 'CHECKPOINT', 'LAG', 'LAG TIME', 'PARKED', 'OWNERS'],
            all.map((p) => {
              const s = summaryJson(p);
              return [
                p.name,
                p.kind,
                p.kind === 'group' ? String(p.partitions.length) : '-',
                s.checkpoint ?? '-',
                lagText(s.lagEvents, s.lagCapped),
                duration(s.lagSeconds),
                String(s.parked),
                s.owners.join(',') || '-',
              ];
            }),
          ),
        );
      });
    });
  sub(projections, 'status')
    .description('one projection or consumer group, partition by partition')
    .argument('<name>', 'the subscription id or consumer group name')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        await backend.assertMigrated();
        const found = await describeOne(backend, name);
        if (options.json) return print(toJson({ ...summaryJson(found), partitions: found.partitions }));
        print(`${found.kind} ${found.name}: head position ${found.head?.toString() ?? '-'}`);
        print(
          table(
            ['SUBSCRIPTION', 'CHECKPOINT', 'UPDATED', 'LAG', 'LAG TIME', 'PARKED', 'OWNER'],
            found.partitions.map((p) => [
              p.subscriptionId,
              p.checkpoint?.toString() ?? '-',
              p.updatedAt?.toISOString() ?? '-',
              lagText(p.lagEvents, p.lagCapped),
              duration(p.lagSeconds),
              String(p.parked),
              p.owner ?? '-',
            ]),
          ),
        );
      });
    });
  sub(projections, 'reset')
    .description(
      'forget the checkpoint(s): the projection (every partition of a group) starts again from the beginning',
    )
    .argument('<name>', 'the subscription id or consumer group name')
    .option('--force', 'even while a worker holds a lease of the group')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { force?: boolean; json?: boolean }, command: Command) => {
      await withBackend(command, async (backend) => {
        await backend.assertMigrated();
        const found = await describeOne(backend, name);
        assertNotRunning(found, options.force);
        for (const p of found.partitions) await backend.checkpoints.reset(p.subscriptionId);
        const ids = found.partitions.map((p) => p.subscriptionId);
        if (options.json) return print(toJson({ name, reset: ids }));
        print(`Reset ${ids.join(', ')}: the next run starts from the beginning of the log.`);
      });
    });
  sub(projections, 'rewind')
    .description('set the checkpoint(s) to a position: events after it are handled again')
    .argument('<name>', 'the subscription id or consumer group name')
    .requiredOption(
      '--to <position>',
      'the new checkpoint (events after it are handled again)',
      position('--to'),
    )
    .option('--force', 'even while a worker holds a lease of the group')
    .option('--json', 'print JSON')
    .action(
      async (name: string, options: { to: Position; force?: boolean; json?: boolean }, command: Command) => {
        await withBackend(command, async (backend) => {
          await backend.assertMigrated();
          const found = await describeOne(backend, name);
          assertNotRunning(found, options.force);
          for (const p of found.partitions) await backend.checkpoints.save(p.subscriptionId, options.to);
          const ids = found.partitions.map((p) => p.subscriptionId);
          if (options.json) return print(toJson({ name, position: options.to, rewound: ids }));
          print(`Set ${ids.join(', ')} to position ${options.to}.`);
        });
      },
    );
  sub(projections, 'rebuild')
    .description(
      "replay the whole log into a module's handler, then set the checkpoint(s) to the end (stop the workers first)",
    )
    .argument('<name>', 'the subscription id or consumer group name')
    .requiredOption(
      '--module <path>',
      'module exporting the handler (see the README: export default { name, handler, eventTypes? })',
    )
    .option('--batch-size <n>', 'events per read', integer('--batch-size', 1), 500)
    .option('--force', 'even while a worker holds a lease of the group')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        name: string,
        options: { module: string; batchSize: number; force?: boolean; json?: boolean },
        command: Command,
      ) => {
        await withHandlerModule(options.module, (handler) =>
          withBackend(command, async (backend) => {
            await backend.assertMigrated();
            const found = await describeOne(backend, name, true);
            assertNotRunning(found, options.force);
            if (handler.name !== undefined && handler.name !== name) {
              throw usageError(
                `${options.module} is the handler of "${handler.name}", not "${name}".`,
                'ES_CLI_MODULE_MISMATCH',
              );
            }
            const head = await backend.headPosition();
            for (const p of found.partitions) await backend.checkpoints.reset(p.subscriptionId);
            const result =
              head === undefined
                ? { processed: 0, lastPosition: 0n, elapsedMs: 0 }
                : await replayInto(
                    backend,
                    handler,
                    undefined,
                    head,
                    options.batchSize,
                    `rebuild ${name}`,
                    io,
                  );
            if (head !== undefined)
              for (const p of found.partitions) await backend.checkpoints.save(p.subscriptionId, head);
            if (options.json) return print(toJson({ name, ...result, checkpoint: head ?? null }));
            print(
              `Rebuilt ${name}: ${result.processed} events in ${(result.elapsedMs / 1000).toFixed(1)}s; checkpoint ${head ?? '-'}.`,
            );
          }),
        );
      },
    );
}

interface PartitionStatus {
  readonly subscriptionId: string;
  readonly partition: number | undefined;
  readonly checkpoint: Position | undefined;
  readonly updatedAt: Date | undefined;
  readonly lagEvents: number;
  readonly lagCapped: boolean;
  readonly lagSeconds: number;
  readonly parked: number;
  readonly owner: string | undefined;
}

interface ProjectionStatus {
  readonly name: string;
  readonly kind: 'projection' | 'group';
  readonly head: Position | undefined;
  readonly members: readonly string[];
  readonly partitions: readonly PartitionStatus[];
}

const GROUP_PARTITION = /^(.+)#(\d+)$/;

/** Every subscription with a checkpoint, grouping `<group>#<p>` ids, plus the groups the lease tables know. */
async function describeAll(backend: Backend): Promise<ProjectionStatus[]> {
  const [checkpoints, groups, parkedCounts, head] = await Promise.all([
    backend.listCheckpoints(),
    backend.listGroups(),
    backend.parkedCounts(),
    backend.headPosition(),
  ]);
  const names = new Map<string, 'projection' | 'group'>();
  for (const group of groups) names.set(group.name, 'group');
  for (const id of [...checkpoints.map((c) => c.subscriptionId), ...parkedCounts.keys()]) {
    const match = GROUP_PARTITION.exec(id);
    if (match) names.set(match[1]!, 'group');
    else if (!names.has(id)) names.set(id, 'projection');
  }
  const result: ProjectionStatus[] = [];
  for (const [name, kind] of [...names].sort(([a], [b]) => a.localeCompare(b))) {
    result.push(await statusOf(backend, name, kind, checkpoints, groups, parkedCounts, head));
  }
  return result;
}

async function describeOne(backend: Backend, name: string, allowNew = false): Promise<ProjectionStatus> {
  const all = await describeAll(backend);
  const found =
    all.find((p) => p.name === name) ??
    all.flatMap((p) => p.partitions).find((p) => p.subscriptionId === name);
  if (found && 'kind' in found) return found;
  if (found) {
    // One partition of a group, named as `group#p`.
    const group = all.find((p) => p.partitions.includes(found as PartitionStatus))!;
    return { ...group, name, kind: 'projection', partitions: [found as PartitionStatus] };
  }
  if (allowNew)
    return { name, kind: 'projection', head: undefined, members: [], partitions: [emptyPartition(name)] };
  throw new CliError(
    'ES_CLI_PROJECTION_NOT_FOUND',
    `No projection or consumer group "${name}" (no checkpoint, lease or parked event of it). \`es projections list\` shows them.`,
  );
}

function emptyPartition(subscriptionId: string): PartitionStatus {
  return {
    subscriptionId,
    partition: undefined,
    checkpoint: undefined,
    updatedAt: undefined,
    lagEvents: 0,
    lagCapped: false,
    lagSeconds: 0,
    parked: 0,
    owner: undefined,
  };
}

async function statusOf(
  backend: Backend,
  name: string,
  kind: 'projection' | 'group',
  checkpoints: readonly CheckpointRow[],
  groups: readonly GroupRow[],
  parkedCounts: ReadonlyMap<string, number>,
  head: Position | undefined,
): Promise<ProjectionStatus> {
  const group = groups.find((g) => g.name === name);
  const ids: { id: string; partition: number | undefined }[] = [];
  if (kind === 'projection') ids.push({ id: name, partition: undefined });
  else {
    const seen = new Set<number>();
    for (let p = 0; p < (group?.partitions ?? 0); p++) seen.add(p);
    for (const id of [...checkpoints.map((c) => c.subscriptionId), ...parkedCounts.keys()]) {
      const match = GROUP_PARTITION.exec(id);
      if (match && match[1] === name) seen.add(Number(match[2]));
    }
    for (const p of [...seen].sort((a, b) => a - b)) ids.push({ id: `${name}#${p}`, partition: p });
  }
  const partitions: PartitionStatus[] = [];
  const now = Date.now();
  for (const { id, partition } of ids) {
    const row = checkpoints.find((c) => c.subscriptionId === id);
    // No checkpoint: the subscription starts at the beginning, so everything is lag.
    const from = row?.position ?? -1n;
    const counted = await backend.countAfter(from, LAG_LIMIT + 1);
    const first = counted > 0 ? await backend.firstAfter(from) : undefined;
    partitions.push({
      subscriptionId: id,
      partition,
      checkpoint: row?.position,
      updatedAt: row?.updatedAt,
      lagEvents: Math.min(counted, LAG_LIMIT),
      lagCapped: counted > LAG_LIMIT,
      lagSeconds: first ? Math.max(0, (now - first.timestamp.getTime()) / 1000) : 0,
      parked: parkedCounts.get(id) ?? 0,
      owner: partition === undefined ? undefined : group?.owners.get(partition),
    });
  }
  return { name, kind, head, members: group?.members ?? [], partitions };
}

/** The row of `projections list`: a group's checkpoint is its lowest, its lag the largest. */
function summaryJson(p: ProjectionStatus) {
  const withCheckpoint = p.partitions.filter((x) => x.checkpoint !== undefined);
  const lowest =
    withCheckpoint.length < p.partitions.length || withCheckpoint.length === 0
      ? undefined
      : withCheckpoint.reduce((a, b) => (a.checkpoint! < b.checkpoint! ? a : b)).checkpoint;
  const worst = p.partitions.reduce<PartitionStatus | undefined>(
    (a, b) => (a === undefined || b.lagEvents > a.lagEvents || b.lagCapped ? b : a),
    undefined,
  );
  return {
    name: p.name,
    kind: p.kind,
    partitions: p.partitions.length,
    head: p.head?.toString() ?? null,
    checkpoint: lowest?.toString(),
    lagEvents: worst?.lagEvents ?? 0,
    lagCapped: worst?.lagCapped ?? false,
    lagSeconds: Math.max(0, ...p.partitions.map((x) => x.lagSeconds)),
    parked: p.partitions.reduce((sum, x) => sum + x.parked, 0),
    owners: [...new Set(p.partitions.map((x) => x.owner).filter((o): o is string => o !== undefined))].sort(),
    members: p.members,
  };
}

function lagText(events: number, capped: boolean): string {
  return capped ? '>1M' : String(events);
}

function assertNotRunning(p: ProjectionStatus, force: boolean | undefined): void {
  const owners = p.partitions.map((x) => x.owner).filter((o) => o !== undefined);
  if (owners.length > 0 && !force) {
    throw new CliError(
      'ES_CLI_PROJECTION_RUNNING',
      `Workers hold leases of "${p.name}" (${[...new Set(owners)].join(', ')}): stop them first, or pass --force.`,
    );
  }
}
