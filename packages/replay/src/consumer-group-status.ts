import {
  type PartitionLeaseStore,
  type Position,
  type ProjectionStore,
  partitionSubscriptionId,
} from '@es/core';

/** One partition of a group as the stores see it (see `describeConsumerGroup`). */
export interface ConsumerGroupPartitionStatus {
  readonly partition: number;
  readonly checkpoint: Position | undefined;
  /** The worker holding the lease, if it is held and has not lapsed. */
  readonly owner: string | undefined;
  readonly token: bigint | undefined;
  readonly leaseExpiresAt: Date | undefined;
  readonly parked: number;
}

/** What `describeConsumerGroup` reads. */
export interface DescribeConsumerGroupOptions {
  readonly name: string;
  readonly leases: PartitionLeaseStore;
  /** The store holding the group's checkpoints and parked events. */
  readonly readModel: Pick<ProjectionStore<unknown>, 'load' | 'listParked'>;
}

/**
 * A group's state as the stores hold it, for status views and the command line: each partition's
 * checkpoint, lease owner and parked count, and the live members. No worker needs to run.
 *
 * @example
 * const { members, partitions } = await describeConsumerGroup({ name: 'stock', leases, readModel });
 */
export async function describeConsumerGroup(options: DescribeConsumerGroupOptions): Promise<{
  readonly group: string;
  readonly members: readonly string[];
  readonly partitions: readonly ConsumerGroupPartitionStatus[];
}> {
  const description = await options.leases.describe(options.name);
  const count = description.partitions ?? description.leases.length;
  const now = new Date();
  const partitions = await Promise.all(
    Array.from({ length: count }, async (_, partition) => {
      const id = partitionSubscriptionId(options.name, partition);
      const lease = description.leases.find((candidate) => candidate.partition === partition);
      const held = lease?.owner !== undefined && lease.expiresAt > now;
      const [checkpoint, parked] = await Promise.all([
        options.readModel.load(id),
        options.readModel.listParked(id),
      ]);
      return {
        partition,
        checkpoint,
        owner: held ? lease?.owner : undefined,
        token: lease?.token,
        leaseExpiresAt: lease?.expiresAt,
        parked: parked.length,
      };
    }),
  );
  return { group: options.name, members: description.members.map((member) => member.workerId), partitions };
}
