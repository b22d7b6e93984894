import type { SqlSession } from './sql-executor.js';

/** How long appends are gathered before one NOTIFY announces them all. */
export const ANNOUNCE_DELAY_MS = 5;

/**
 * Sends the NOTIFY that wakes followers, coalesced: the appends that commit within
 * {@link ANNOUNCE_DELAY_MS} of each other share one notification, and at most one is in flight.
 * It is sent after the appends' commits, in its own statement with `synchronous_commit` off,
 * because a NOTIFY inside the append transaction holds PostgreSQL's notification-queue lock
 * through the commit's WAL flush and so serialises every append.
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
    this.#running = new Promise((resolve) => setTimeout(resolve, ANNOUNCE_DELAY_MS)).then(() => this.#send());
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
