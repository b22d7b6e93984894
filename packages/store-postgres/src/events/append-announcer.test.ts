import { describe, expect, it } from '@jest/globals';
import type { SqlQuery, SqlSession } from '../connection/sql-executor.js';
import { AppendAnnouncer } from './append-announcer.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A session whose NOTIFY takes `latencyMs` and records when each one was sent. */
function fakeSession(latencyMs: number): SqlSession & { sentAt: number[] } {
  const sentAt: number[] = [];
  return {
    sentAt,
    query: async <Row>(_query: SqlQuery) => {
      sentAt.push(performance.now());
      await sleep(latencyMs);
      return [] as Row[];
    },
    exec: async () => undefined,
  };
}

describe('AppendAnnouncer', () => {
  it('announces the first append after a quiet spell at once', async () => {
    const session = fakeSession(0);
    const announcer = new AppendAnnouncer(session, 'es_test', 50);
    const before = performance.now();
    announcer.announce();
    await announcer.settled();
    expect(session.sentAt).toHaveLength(1);
    expect(session.sentAt[0]! - before).toBeLessThan(25);
  });

  it('under a steady stream of appends sends at most one NOTIFY per interval, and one after the last append', async () => {
    const session = fakeSession(1);
    const intervalMs = 20;
    const announcer = new AppendAnnouncer(session, 'es_test', intervalMs);
    const announcedAt: number[] = [];
    const started = performance.now();
    while (performance.now() - started < 200) {
      announcer.announce();
      announcedAt.push(performance.now());
      await sleep(0.5);
    }
    await announcer.settled();
    // Throttled: not one NOTIFY per append (there were hundreds of appends).
    expect(announcedAt.length).toBeGreaterThan(50);
    expect(session.sentAt.length).toBeLessThanOrEqual(200 / intervalMs + 2);
    for (let i = 1; i < session.sentAt.length; i++) {
      expect(session.sentAt[i]! - session.sentAt[i - 1]!).toBeGreaterThanOrEqual(intervalMs - 2); // timers may fire a little early
    }
    // Never lost: every append is followed by a NOTIFY sent after it.
    const lastSent = session.sentAt[session.sentAt.length - 1]!;
    expect(lastSent).toBeGreaterThanOrEqual(announcedAt[announcedAt.length - 1]!);
  });

  it('an append during a NOTIFY in flight gets a NOTIFY of its own afterwards', async () => {
    const session = fakeSession(30);
    const announcer = new AppendAnnouncer(session, 'es_test', 5);
    announcer.announce();
    await sleep(10); // the first NOTIFY is in flight
    const appendedAt = performance.now();
    announcer.announce();
    await announcer.settled();
    expect(session.sentAt).toHaveLength(2);
    expect(session.sentAt[1]!).toBeGreaterThan(appendedAt);
  });
});
