import type { SqlSession } from '../connection/sql-executor.js';

/** The least time between two NOTIFYs of one store: appends within it share one notification. */
export const ANNOUNCE_INTERVAL_MS = 5;

/**
 * Sends the NOTIFY that wakes followers, throttled: the first append after a quiet spell is
 * announced at once; appends that commit while a notification is in flight, or less than
 * {@link ANNOUNCE_INTERVAL_MS} after the last one was sent, share the next one, sent when the
 * interval has passed. So every append is followed by a NOTIFY sent after its commit, and a store
 * sends at most one per interval (plus a round trip), however fast it appends: each NOTIFY is a
 * statement, and one per append cost as much server time as the append.
 *
 * It is sent after the appends' commits, in its own statement with `synchronous_commit` off,
 * because a NOTIFY inside the append transaction holds PostgreSQL's notification-queue lock
 * through the commit's WAL flush and so serialises every append.
 */
export class AppendAnnouncer {
  readonly #session: SqlSession;
  readonly #channel: string;
  readonly #intervalMs: number;
  #running: Promise<void> | undefined;
  #again = false;
  #lastSentAt = Number.NEGATIVE_INFINITY;

  constructor(session: SqlSession, channel: string, intervalMs = ANNOUNCE_INTERVAL_MS) {
    this.#session = session;
    this.#channel = channel;
    this.#intervalMs = intervalMs;
  }

  /** Asks for a notification after this moment; returns at once. */
  announce(): void {
    this.#again = true;
    this.#running ??= this.#run();
  }

  /** Resolves when no notification is pending or in flight (used by `close()`). */
  async settled(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #run(): Promise<void> {
    try {
      while (this.#again) {
        const wait = this.#lastSentAt + this.#intervalMs - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        // Appends announced until here are covered by this NOTIFY; later ones set #again.
        this.#again = false;
        this.#lastSentAt = performance.now();
        await this.#send();
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #send(): Promise<void> {
    // A lost notification only delays followers, who also poll: failures are ignored.
    await this.#session
      .query({
        name: `es-notify:${this.#channel}`,
        text: `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')`,
        values: [this.#channel],
      })
      .catch(() => undefined);
  }
}
