import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Position } from '@es/core';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { type ConsoleSource, openConsoleDatabase } from '../src/database.js';
import { type ConsoleServer, startConsoleServer, TOKEN_HEADER } from '../src/server.js';
import { expectedPartitionLag, PARTITIONS, SEED_EVENTS, type Seeded } from './seed.js';

/** What a backend gives the suite: a seeded database to point the console at, and a way to append. */
export interface Backend {
  readonly source: ConsoleSource;
  readonly schema: string | undefined;
  readonly seeded: Seeded;
  /** Appends one event from outside the console (another connection, or on PGlite the folder opened in turn). */
  append(streamId: string, type: string, data: Record<string, unknown>): Promise<Position>;
  /**
   * Whether the global log shows the event at `position` yet. On a server it shows an event once
   * every older transaction has ended, so a long transaction of another test holds it back.
   */
  isVisible(position: Position): Promise<boolean>;
  cleanup(): Promise<void>;
}

/** Where the browser tests keep one screenshot of each main view (git-ignored). */
export const ARTIFACTS = join(__dirname, '..', 'test-artifacts');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'test-token-0123456789';

/**
 * The console over one backend: the JSON API and the write guard over HTTP, then every view in
 * headless Chromium (driven by playwright-core), with a screenshot of each.
 */
export function consoleSuite(label: string, prepare: () => Promise<Backend>): void {
  let backend: Backend;
  let readOnly: ConsoleServer;
  let writable: ConsoleServer;
  const log: { streamId: string; position: Position }[] = [];

  const open = async (allowWrites: boolean) =>
    startConsoleServer({
      database: await openConsoleDatabase({
        source: backend.source,
        ...(backend.schema ? { schema: backend.schema } : {}),
        idleCloseMs: 400,
        lockWaitMs: 30_000,
      }),
      port: 0,
      allowWrites,
      ...(allowWrites ? { token: TOKEN } : {}),
      tailPollMs: 800,
    });

  // Bounded: a transaction that never ends fails the test after the jest timeout.
  const untilVisible = async (position: Position) => {
    while (!(await backend.isVisible(position))) await new Promise((resolve) => setTimeout(resolve, 100));
  };

  beforeAll(async () => {
    backend = await prepare();
    await untilVisible(backend.seeded.all.at(-1)!);
    log.push(...SEED_EVENTS.map(([streamId], index) => ({ streamId, position: backend.seeded.all[index]! })));
    readOnly = await open(false);
    writable = await open(true);
  }, 120_000);

  afterAll(async () => {
    await readOnly?.close();
    await writable?.close();
    await backend?.cleanup();
  }, 60_000);

  const get = async (server: ConsoleServer, path: string, init?: RequestInit) => {
    const response = await fetch(new URL(path, server.url), init);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  describe(`${label}: HTTP API`, () => {
    it('lists streams, most recent first, and filters them by id', async () => {
      const { body } = await get(readOnly, '/api/streams');
      const streams = body.streams as { streamId: string; version: number }[];
      expect(streams.map((s) => s.streamId)).toEqual(['order-3', 'order-2', 'order-1', 'customer-7']);
      expect(streams.find((s) => s.streamId === 'order-1')?.version).toBe(2);
      const filtered = (await get(readOnly, '/api/streams?q=customer')).body.streams as {
        streamId: string;
      }[];
      expect(filtered.map((s) => s.streamId)).toEqual(['customer-7']);
    });

    it("serves a stream's events in order with their data", async () => {
      const { body } = await get(readOnly, '/api/stream?id=order-1');
      const events = body.events as { version: number; type: string; data: unknown; position: string }[];
      expect(events.map((e) => [e.version, e.type])).toEqual([
        [1, 'OrderPlaced'],
        [2, 'OrderPaid'],
      ]);
      expect(events[0]!.data).toEqual({ total: 10 });
      expect(events.map((e) => BigInt(e.position))).toEqual(backend.seeded.positions['order-1']);
    });

    it('searches by type, by stream id and by time', async () => {
      const types = async (query: string) =>
        (
          (await get(readOnly, `/api/events?${query}`)).body.events as { streamId: string; type: string }[]
        ).map((e) => `${e.streamId}:${e.type}`);
      expect(await types('type=OrderPlaced')).toEqual([
        'order-1:OrderPlaced',
        'order-2:OrderPlaced',
        'order-3:OrderPlaced',
      ]);
      expect(await types('stream=order-1&type=OrderPaid')).toEqual(['order-1:OrderPaid']);
      expect(await types('stream=customer')).toEqual(['customer-7:CustomerRegistered']);
      const future = new Date(Date.now() + 3_600_000).toISOString();
      const past = new Date(Date.now() - 3_600_000).toISOString();
      expect(await types(`from=${future}`)).toEqual([]);
      expect(await types(`type=OrderPlaced&from=${future}`)).toEqual([]);
      expect(await types(`to=${past}`)).toEqual([]);
      expect((await types(`from=${past}&to=${future}`)).length).toBe(SEED_EVENTS.length);
    });

    it("shows each group partition's checkpoint, lease and lag, and the other checkpoints", async () => {
      const { body } = await get(readOnly, '/api/consumers');
      const groups = body.groups as {
        name: string;
        members: string[];
        partitions: {
          partition: number;
          checkpoint: string | null;
          owner: string | null;
          token: string | null;
          parked: number;
          lag: { events: number; capped: boolean; seconds: number };
        }[];
      }[];
      expect(groups.map((g) => g.name)).toEqual(['stock']);
      const stock = groups[0]!;
      expect(stock.members).toEqual(['worker-a']);
      expect(stock.partitions).toHaveLength(PARTITIONS);
      const [p0, p1] = stock.partitions;
      expect(p0).toMatchObject({
        checkpoint: backend.seeded.groupCheckpoint.toString(),
        owner: 'worker-a',
        token: '1',
        parked: 2,
      });
      expect(p1).toMatchObject({ checkpoint: null, owner: null, parked: 0 });
      const lags = expectedPartitionLag(log, backend.seeded);
      expect(stock.partitions.map((p) => p.lag.events)).toEqual(lags);
      expect(stock.partitions.every((p) => !p.lag.capped && p.lag.seconds >= 0)).toBe(true);
      const subscriptions = body.subscriptions as {
        subscriptionId: string;
        checkpoint: string;
        lag: { events: number };
      }[];
      expect(subscriptions.map((s) => [s.subscriptionId, s.checkpoint, s.lag.events])).toEqual([
        ['balances', backend.seeded.balancesCheckpoint.toString(), SEED_EVENTS.length - 2],
      ]);
    });

    it('lists parked events', async () => {
      const parked = (await get(readOnly, '/api/parked')).body.parked as {
        subscriptionId: string;
        position: string;
      }[];
      expect(parked.map((p) => [p.subscriptionId, BigInt(p.position)])).toEqual(
        backend.seeded.parked.map((position) => ['stock#0', position]),
      );
    });

    it('refuses writes: read-only console, missing or wrong token; then requests a retry and skips with the token', async () => {
      const position = backend.seeded.parked[0]!.toString();
      const write = (action: 'skip' | 'retry') => (server: ConsoleServer, headers: Record<string, string>) =>
        get(server, `/api/parked/${action}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ subscriptionId: 'stock#0', position }),
        });
      const [skip, retry] = [write('skip'), write('retry')];
      for (const action of [skip, retry]) {
        const readOnlyAnswer = await action(readOnly, { [TOKEN_HEADER]: TOKEN });
        expect(readOnlyAnswer.status).toBe(403);
        expect(readOnlyAnswer.body.error).toMatch(/read-only.*--allow-writes/);
        expect((await action(writable, {})).status).toBe(403);
        expect((await action(writable, { [TOKEN_HEADER]: 'not-the-token-at-all' })).status).toBe(403);
      }
      const parkedNow = async () =>
        (await get(readOnly, '/api/parked')).body.parked as {
          position: string;
          retryRequestedAt: string | null;
        }[];
      expect((await parkedNow()).map((p) => p.retryRequestedAt)).toEqual([null, null]);

      // A retry request marks the record for the worker that owns stock#0; the list shows it.
      const asked = await retry(writable, { [TOKEN_HEADER]: TOKEN });
      expect(asked).toEqual({
        status: 200,
        body: { retryRequested: true, subscriptionId: 'stock#0', position },
      });
      const marked = await parkedNow();
      expect(Date.parse(marked[0]!.retryRequestedAt!)).toBeGreaterThan(0);
      expect(marked[1]!.retryRequestedAt).toBeNull();

      const done = await skip(writable, { [TOKEN_HEADER]: TOKEN });
      expect(done).toEqual({ status: 200, body: { skipped: true, subscriptionId: 'stock#0', position } });
      const left = (await get(readOnly, '/api/parked')).body.parked as { position: string }[];
      expect(left.map((p) => p.position)).toEqual([backend.seeded.parked[1]!.toString()]);
      expect((await skip(writable, { [TOKEN_HEADER]: TOKEN })).status).toBe(404);
      expect((await retry(writable, { [TOKEN_HEADER]: TOKEN })).status).toBe(404);
    });

    it('answers bad requests with 400, unknown paths with 404, foreign Host headers with 403', async () => {
      expect((await get(readOnly, '/api/stream')).status).toBe(400);
      expect((await get(readOnly, '/api/events?from=yesterday')).status).toBe(400);
      expect((await get(readOnly, '/api/tail?after=abc')).status).toBe(400);
      expect((await get(readOnly, '/api/nothing')).status).toBe(404);
      const foreign = await new Promise<number>((resolve, reject) => {
        // fetch may not set Host: use node:http, which sends what it is given.
        import('node:http').then(({ request }) => {
          const call = request(
            {
              host: '127.0.0.1',
              port: readOnly.port,
              path: '/api/streams',
              headers: { host: `evil.example:${readOnly.port}` },
            },
            (response) => {
              response.resume();
              resolve(response.statusCode ?? 0);
            },
          );
          call.on('error', reject);
          call.end();
        }, reject);
      });
      expect(foreign).toBe(403);
    });

    it('pushes newly appended events on the live tail (Server-Sent Events)', async () => {
      // The generous bound covers a long transaction of another suite holding the log back.
      const last = backend.seeded.all.at(-1)!;
      const abort = new AbortController();
      const response = await fetch(new URL(`/api/tail?after=${last}`, readOnly.url), {
        signal: abort.signal,
      });
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const position = await backend.append('order-9', 'OrderPlaced', { total: 1 });
      log.push({ streamId: 'order-9', position });
      await untilVisible(position);
      const reader = response.body!.getReader();
      let text = '';
      while (!text.includes(`id: ${position}\n`)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      abort.abort();
      expect(text).toContain(`id: ${position}\n`);
      expect(text).toContain('order-9');
    }, 90_000);
  });

  const hasChromium = existsSync(CHROMIUM);
  const describeBrowser = hasChromium || process.env.CI ? describe : describe.skip;
  if (!hasChromium && !process.env.CI) {
    process.stderr.write(
      `${label}: browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH).\n`,
    );
  }

  describeBrowser(`${label}: in headless Chromium`, () => {
    // Bounds, not expectations: each step waits for what it needs, and a stuck one fails here.
    jest.setTimeout(30_000);
    let browser: Browser;
    let page: Page;
    const shot = async (name: string) => {
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${label}.png`), fullPage: true });
    };

    beforeAll(async () => {
      if (!hasChromium)
        throw new Error(`No Chromium at ${CHROMIUM}: .ci/run installs it (apt-get install chromium).`);
      await mkdir(ARTIFACTS, { recursive: true });
      const { chromium } = await import('playwright-core');
      // launch() gives each run a fresh temporary profile. Without the background-networking flags
      // Chromium tries to reach its services, which a closed network refuses.
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.setDefaultTimeout(20_000);
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
    });

    it('lists the streams and searches them by id', async () => {
      await page.goto(new URL('/', readOnly.url).href);
      await page.waitForSelector('#streams');
      const ids = await page.locator('#streams tbody tr td:first-child').allTextContents();
      expect(ids).toEqual(expect.arrayContaining(['order-1', 'order-2', 'order-3', 'customer-7']));
      expect(await page.getByTestId('mode').textContent()).toBe('read-only');
      await shot('streams');
      await page.fill('input[name=q]', 'cust');
      await Promise.all([page.waitForURL(/q=cust/), page.click('form.filters button')]);
      expect(await page.locator('#streams tbody tr td:first-child').allTextContents()).toEqual([
        'customer-7',
      ]);
    });

    it('opens a stream and shows its events and their data', async () => {
      await page.goto(new URL('/streams', readOnly.url).href);
      await page.click('#streams a:text-is("order-1")');
      await page.waitForSelector('#stream-events');
      expect(await page.locator('#stream-events td.type').allTextContents()).toEqual([
        'OrderPlaced',
        'OrderPaid',
      ]);
      await page.locator('#stream-events summary').first().click();
      expect(await page.locator('#stream-events pre').first().textContent()).toContain('"total": 10');
      await shot('stream');
    });

    it('searches events by type, by stream id and by time', async () => {
      await page.goto(new URL('/events', readOnly.url).href);
      await page.fill('input[name=type]', 'OrderPaid');
      await Promise.all([page.waitForSelector('#results'), page.click('form.filters button')]);
      expect(await page.locator('#results td.type').allTextContents()).toEqual(['OrderPaid']);
      await page.fill('input[name=type]', '');
      await page.fill('input[name=stream]', 'order-');
      await Promise.all([page.waitForURL(/stream=order-/), page.click('form.filters button')]);
      expect(await page.locator('#results tbody tr').count()).toBeGreaterThanOrEqual(4);
      await shot('search');
      await page.fill('input[name=stream]', '');
      await page.fill('input[name=from]', new Date(Date.now() + 3_600_000).toISOString().slice(0, 19));
      await Promise.all([page.waitForSelector('#no-results'), page.click('form.filters button')]);
    });

    it('follows the log live: a newly appended event appears', async () => {
      await page.goto(new URL('/tail', readOnly.url).href);
      await page.waitForSelector('#live-state[data-state=open]');
      const position = await backend.append('order-10', 'OrderShipped', { carrier: 'post' });
      log.push({ streamId: 'order-10', position });
      await untilVisible(position);
      const row = page.locator(`#tail tbody tr[data-position="${position}"]`);
      await row.waitFor();
      expect(await row.locator('td.type').textContent()).toBe('OrderShipped');
      // Newest first.
      expect(await page.locator('#tail tbody tr').first().getAttribute('data-position')).toBe(
        position.toString(),
      );
      await shot('tail');
    }, 90_000);

    it("shows each consumer's lag, partitions and leases", async () => {
      await page.goto(new URL('/consumers', readOnly.url).href);
      const group = page.locator('section.group[data-group=stock]');
      await group.waitFor();
      expect(await group.textContent()).toContain('worker-a');
      const lags = expectedPartitionLag(log, backend.seeded);
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const row = group.locator(`tr[data-partition="${partition}"]`);
        expect(await row.locator('td.lag-events').textContent()).toBe(String(lags[partition]));
      }
      expect(await group.locator('tr[data-partition="0"]').textContent()).toContain('worker-a');
      expect(await page.locator('#subscriptions tr[data-subscription=balances]').count()).toBe(1);
      await shot('consumers');
    });

    it('shows parked events without Retry or Skip buttons when read-only', async () => {
      await page.goto(new URL('/parked', readOnly.url).href);
      await page.waitForSelector('#parked');
      expect(await page.locator('#parked tbody tr').count()).toBe(1);
      expect(await page.locator('button.skip, button.retry').count()).toBe(0);
      expect(await page.locator('main').textContent()).toContain('--allow-writes');
      await shot('parked');
    });

    it('retries and skips a parked event with --allow-writes: refused without the token, done with it', async () => {
      await page.goto(new URL('/parked', writable.url).href);
      const row = page.locator(`#parked tr[data-position="${backend.seeded.parked[1]}"]`);
      await row.waitFor();
      expect(await page.getByTestId('mode').textContent()).toBe('writes allowed');
      await row.locator('button.skip').click();
      await page.waitForSelector('#status.error');
      expect(await page.locator('#status').textContent()).toMatch(/Write refused/);
      expect(await row.count()).toBe(1);

      // The URL printed at start carries the token in its fragment, which never reaches the server.
      await page.goto(new URL(`/parked#token=${TOKEN}`, writable.url).href);
      await row.waitFor();
      await shot('parked-writes');
      // Retry asks the owning worker: the row stays, marked, until the worker has handled it.
      expect(await row.locator('td.retry-requested').textContent()).toBe('-');
      await row.locator('button.retry').click();
      await row.locator('td.retry-requested:text-is("requested")').waitFor();
      expect(await page.locator('#status').textContent()).toContain('Retry requested for stock#0');
      const requested = (await get(readOnly, '/api/parked')).body.parked as {
        retryRequestedAt: string | null;
      }[];
      expect(requested[0]!.retryRequestedAt).not.toBeNull();
      await page.reload();
      await row.waitFor();
      expect(await row.locator('td.retry-requested').textContent()).not.toBe('-');
      await shot('parked-retry-requested');
      await row.locator('button.skip').click();
      await row.waitFor({ state: 'detached' });
      expect(await page.locator('#status').textContent()).toContain('Skipped stock#0');
      expect(((await get(readOnly, '/api/parked')).body.parked as unknown[]).length).toBe(0);
    });
  });
}
