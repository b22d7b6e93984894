import type { SqlSession } from './sql-executor.js';

/**
 * Sends the NOTIFY that wakes followers, coalesced: however many appends of this process commit
 * meanwhile, at most one notification is in flight, plus one more for appends that completed
 * while it was. It is sent after the append's commit, in its own statement with
 * `synchronous_commit` off, because a NOTIFY inside the append transaction holds PostgreSQL's
 * notification-queue lock through the commit's WAL flush and so serialises every append.
 */
export class AppendAnnouncer {
  readonly #session: SqlSession;
  readonly #channel: string;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(session: SqlSession, channel: string) {
    this.#session = session;
    this.#channel = channel;
  }

  /** Asks for a notification soon; returns at once. */
  announce(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#send();
  }

  /** Resolves when no notification is in flight (used by `close()`). */
  async settled(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #send(): Promise<void> {
    do {
      this.#again = false;
      // A lost notification only delays followers, who also poll: failures are ignored.
      await this.#session
        .query({
          name: `es-notify:${this.#channel}`,
          text: `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')`,
          values: [this.#channel],
        })
        .catch(() => undefined);
    } while (this.#again);
    this.#running = undefined;
  }
}
