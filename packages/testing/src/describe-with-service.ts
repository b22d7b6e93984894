import { describe, it } from '@jest/globals';

/**
 * Runs a suite that needs an external server whose URL is in the environment variable `envVar`
 * (e.g. `DATABASE_URL`, `MONGO_URL`). When it is unset the suite is skipped and the reason is
 * printed, so a skipped run never looks like a passing one. Where `ES_REQUIRE_SERVICES` names the
 * variable (CI sets it), a missing server fails the run instead.
 *
 * @example
 * describeWithService('PostgresEventStore (server)', 'DATABASE_URL', (url) => { ... });
 */
export function describeWithService(
  title: string,
  envVar: string,
  body: (url: string) => void,
  howToEnable = `set ${envVar} to run it`,
): void {
  const url = process.env[envVar];
  if (url) {
    describe(title, () => body(url));
    return;
  }
  const required = (process.env.ES_REQUIRE_SERVICES ?? '').split(',').map((name) => name.trim());
  if (required.includes(envVar)) {
    describe(title, () => {
      it(`needs ${envVar}, which ES_REQUIRE_SERVICES marks as required`, () => {
        throw new Error(`${envVar} is not set, but ES_REQUIRE_SERVICES requires it: ${howToEnable}.`);
      });
    });
    return;
  }
  const reason = `${title}: skipped because ${envVar} is not set (${howToEnable}).`;
  // Straight to stderr: jest drops console output of files whose tests are all skipped.
  process.stderr.write(`${reason}\n`);
  describe.skip(reason, () => body(''));
}
