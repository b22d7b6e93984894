import { isInvalidArgumentError, type SnapshotDecision } from '@es/core';
import { describe, expect, it } from '@jest/globals';
import { FrequencySnapshotStrategy } from './frequency-snapshot-strategy.js';
import { HybridSnapshotStrategy } from './hybrid-snapshot-strategy.js';
import { PredicateSnapshotStrategy } from './predicate-snapshot-strategy.js';
import { TimeBasedSnapshotStrategy } from './time-based-snapshot-strategy.js';

const now = new Date('2026-06-01T12:00:00.000Z');
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
const HOUR = 60 * 60_000;

function decision(
  version: number,
  lastSnapshotVersion = 0,
  lastSnapshotAt: Date | undefined = undefined,
): SnapshotDecision<{ closed: boolean }> {
  return {
    aggregate: { closed: false },
    version,
    lastSnapshotVersion,
    lastSnapshotAt,
    eventsSinceSnapshot: version - lastSnapshotVersion,
    now,
  };
}

function thrownBy(create: () => unknown): unknown {
  try {
    create();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('FrequencySnapshotStrategy', () => {
  const every100 = new FrequencySnapshotStrategy(100);

  it('snapshots once N events were committed since the last snapshot', () => {
    expect(every100.shouldSnapshot(decision(99))).toBe(false);
    expect(every100.shouldSnapshot(decision(100))).toBe(true);
    expect(every100.shouldSnapshot(decision(199, 100))).toBe(false);
    expect(every100.shouldSnapshot(decision(200, 100))).toBe(true);
  });

  it('does not skip past the threshold when one save commits several events', () => {
    expect(every100.shouldSnapshot(decision(103, 0))).toBe(true);
    expect(every100.shouldSnapshot(decision(205, 103))).toBe(true);
  });

  it('counts from the last snapshot, not from version multiples', () => {
    expect(every100.shouldSnapshot(decision(200, 150))).toBe(false);
    expect(every100.shouldSnapshot(decision(250, 150))).toBe(true);
  });

  it('refuses a count that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
      expect(isInvalidArgumentError(thrownBy(() => new FrequencySnapshotStrategy(bad)))).toBe(true);
    }
  });
});

describe('TimeBasedSnapshotStrategy', () => {
  const hourly = new TimeBasedSnapshotStrategy(HOUR);

  it('snapshots when the interval has passed since the last snapshot and events were committed', () => {
    expect(hourly.shouldSnapshot(decision(10, 5, minutesAgo(59)))).toBe(false);
    expect(hourly.shouldSnapshot(decision(10, 5, minutesAgo(60)))).toBe(true);
    expect(hourly.shouldSnapshot(decision(6, 5, minutesAgo(600)))).toBe(true);
  });

  it('takes the first snapshot at the first save of an aggregate without one', () => {
    expect(hourly.shouldSnapshot(decision(1))).toBe(true);
  });

  it('does not snapshot when nothing was committed since the last snapshot', () => {
    expect(hourly.shouldSnapshot(decision(5, 5, minutesAgo(600)))).toBe(false);
  });

  it('refuses an interval that is not a positive number of milliseconds', () => {
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(isInvalidArgumentError(thrownBy(() => new TimeBasedSnapshotStrategy(bad)))).toBe(true);
    }
  });
});

describe('HybridSnapshotStrategy', () => {
  const hybrid = new HybridSnapshotStrategy(100, HOUR);

  it('snapshots after N events even when the interval has not passed', () => {
    expect(hybrid.shouldSnapshot(decision(150, 50, minutesAgo(1)))).toBe(true);
    expect(hybrid.shouldSnapshot(decision(149, 50, minutesAgo(1)))).toBe(false);
  });

  it('snapshots after the interval even when fewer than N events were committed', () => {
    expect(hybrid.shouldSnapshot(decision(51, 50, minutesAgo(61)))).toBe(true);
    expect(hybrid.shouldSnapshot(decision(51, 50, minutesAgo(59)))).toBe(false);
  });

  it('before the first snapshot, only the event count applies', () => {
    expect(hybrid.shouldSnapshot(decision(3))).toBe(false);
    expect(hybrid.shouldSnapshot(decision(100))).toBe(true);
  });

  it('does not snapshot an unchanged aggregate, however old its snapshot', () => {
    expect(hybrid.shouldSnapshot(decision(50, 50, minutesAgo(6000)))).toBe(false);
  });

  it('refuses invalid arguments', () => {
    expect(isInvalidArgumentError(thrownBy(() => new HybridSnapshotStrategy(0, HOUR)))).toBe(true);
    expect(isInvalidArgumentError(thrownBy(() => new HybridSnapshotStrategy(10, 0)))).toBe(true);
  });
});

describe('PredicateSnapshotStrategy', () => {
  it('decides with the typed aggregate and everything the repository knows', () => {
    const seen: SnapshotDecision<{ closed: boolean }>[] = [];
    const strategy = new PredicateSnapshotStrategy<{ closed: boolean }>((d) => {
      seen.push(d);
      return d.aggregate.closed || d.eventsSinceSnapshot >= 500;
    });
    expect(strategy.shouldSnapshot(decision(10))).toBe(false);
    expect(strategy.shouldSnapshot({ ...decision(10), aggregate: { closed: true } })).toBe(true);
    expect(strategy.shouldSnapshot(decision(600, 100))).toBe(true);
    expect(seen.map((d) => d.version)).toEqual([10, 10, 600]);
  });

  it('treats anything but true as false', () => {
    const strategy = new PredicateSnapshotStrategy(() => 'yes' as unknown as boolean);
    expect(strategy.shouldSnapshot(decision(1))).toBe(false);
  });

  it('refuses a predicate that is not a function', () => {
    expect(isInvalidArgumentError(thrownBy(() => new PredicateSnapshotStrategy(42 as never)))).toBe(true);
  });
});
