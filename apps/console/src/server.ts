import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConsoleDatabase, ConsoleStores } from './database.js';
import {
  HttpError,
  intOf,
  messageOf,
  positionOf,
  readJson,
  searchOf,
  send,
  sendHtml,
  sendJson,
  statusOf,
  stringField,
} from './http.js';
import {
  consumersPage,
  errorPage,
  eventRow,
  eventsPage,
  type PageContext,
  parkedPage,
  SCRIPT,
  STYLE,
  streamPage,
  streamsPage,
  tailPage,
} from './pages.js';
import { listParked, requestParkedRetry, skipParked } from './parked.js';
import {
  describeConsumers,
  eventsAfter,
  latestEvents,
  listStreams,
  searchEvents,
  streamEvents,
} from './queries.js';

/** Options of `startConsoleServer`. */
export interface ConsoleServerOptions {
  readonly database: ConsoleDatabase;
  /** Interface to listen on. Defaults to 127.0.0.1: only this machine can connect. */
  readonly host?: string;
  /** Port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Offer and accept write actions (retry requests and skips of parked events). Defaults to false. */
  readonly allowWrites?: boolean;
  /** The token write requests must send (`x-console-token`); generated when writes are on and it is left out. */
  readonly token?: string;
  /** How often the live tail looks for new events, in milliseconds. Defaults to 1 000 (2 000 on PGlite). */
  readonly tailPollMs?: number;
}

/** A running console. */
export interface ConsoleServer {
  /** The address to open, e.g. `http://127.0.0.1:4400/`. */
  readonly url: string;
  readonly port: number;
  /** The write token, when writes are allowed. */
  readonly token: string | undefined;
  /** Stops listening, ends the live tails and closes the database. */
  close(): Promise<void>;
}

/** The header a write request carries its token in. */
export const TOKEN_HEADER = 'x-console-token';

/** The write endpoints, each on one parked event: what it does and the field its answer sets. */
const PARKED_WRITES = new Map<
  string,
  {
    run: (stores: ConsoleStores, subscriptionId: string, position: bigint) => Promise<boolean>;
    answer: string;
  }
>([
  ['/api/parked/skip', { run: skipParked, answer: 'skipped' }],
  ['/api/parked/retry', { run: requestParkedRetry, answer: 'retryRequested' }],
]);

/**
 * Starts the console's HTTP server: HTML views, a JSON API under `/api`, and the live tail as
 * Server-Sent Events. Read-only unless `allowWrites`; then writes also need the token.
 *
 * @example
 * const database = await openConsoleDatabase({ source: { kind: 'postgres', url } });
 * const server = await startConsoleServer({ database, port: 4400 });
 * console.log(server.url);
 */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const { database } = options;
  const host = options.host ?? '127.0.0.1';
  const allowWrites = options.allowWrites ?? false;
  const token = allowWrites ? (options.token ?? randomBytes(18).toString('base64url')) : undefined;
  const tailPollMs = options.tailPollMs ?? (database.kind === 'pglite' ? 2_000 : 1_000);
  const context: PageContext = { description: database.description, writes: allowWrites };
  const tails = new Set<AbortController>();
  let port = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://console.invalid');
    checkHost(request, host, port);
    const path = url.pathname;
    const query = url.searchParams;
    const parkedWrite = PARKED_WRITES.get(path);
    if (request.method === 'POST' && parkedWrite) {
      checkWrite(request, allowWrites, token);
      const body = await readJson(request);
      const subscriptionId = stringField(body, 'subscriptionId');
      const position = positionOf(stringField(body, 'position'), 'position');
      const done = await database.use((stores) => parkedWrite.run(stores, subscriptionId, position));
      if (!done) throw new HttpError(404, `No parked event of "${subscriptionId}" at position ${position}.`);
      return sendJson(response, 200, {
        [parkedWrite.answer]: true,
        subscriptionId,
        position: position.toString(),
      });
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      throw new HttpError(
        405,
        `${request.method} is not served here; the console's pages and API are GET, the writes are POST /api/parked/retry and /api/parked/skip.`,
      );
    }
    switch (path) {
      case '/':
        response.writeHead(302, { location: '/streams' }).end();
        return;
      case '/style.css':
        return send(response, 200, 'text/css; charset=utf-8', STYLE);
      case '/app.js':
        return send(response, 200, 'text/javascript; charset=utf-8', SCRIPT);
      case '/api/info':
        return sendJson(response, 200, { source: database.description, writes: allowWrites });
      case '/streams':
      case '/api/streams': {
        const search = query.get('q') ?? '';
        const streams = await database.use((stores) =>
          listStreams(stores, { search, limit: intOf(query.get('limit')) }),
        );
        return path === '/streams'
          ? sendHtml(response, streamsPage(streams, search, context))
          : sendJson(response, 200, { streams });
      }
      case '/stream':
      case '/api/stream': {
        const id = query.get('id');
        if (!id) throw new HttpError(400, 'Which stream? Pass ?id=<stream id>.');
        const events = await database.use((stores) =>
          streamEvents(stores, id, {
            fromVersion: intOf(query.get('from')) ?? 0,
            limit: intOf(query.get('limit')),
          }),
        );
        return path === '/stream'
          ? sendHtml(response, streamPage(id, events, context))
          : sendJson(response, 200, { streamId: id, events });
      }
      case '/events':
      case '/api/events': {
        const search = searchOf(query);
        const any = search.stream || search.type || search.from || search.to;
        const events =
          any || path === '/api/events'
            ? await database.use((stores) => searchEvents(stores, search))
            : undefined;
        return path === '/events'
          ? sendHtml(response, eventsPage(search, events, context))
          : sendJson(response, 200, { events });
      }
      case '/tail': {
        const events = await database.use((stores) => latestEvents(stores, 20));
        return sendHtml(response, tailPage(events, context));
      }
      case '/api/tail':
        return streamTail(request, response, query);
      case '/consumers':
      case '/api/consumers': {
        const consumers = await database.use((stores) => describeConsumers(stores));
        return path === '/consumers'
          ? sendHtml(response, consumersPage(consumers, context))
          : sendJson(response, 200, consumers);
      }
      case '/parked':
      case '/api/parked': {
        const parked = await database.use((stores) => listParked(stores));
        return path === '/parked'
          ? sendHtml(response, parkedPage(parked, context))
          : sendJson(response, 200, { parked });
      }
      default:
        throw new HttpError(
          404,
          `Nothing at ${path}. The views are /streams, /events, /tail, /consumers and /parked.`,
        );
    }
  };

  // The live tail: events after `after` (or the Last-Event-ID the browser resends on reconnecting),
  // pushed as they are read, each message's id being the last position sent.
  const streamTail = async (request: IncomingMessage, response: ServerResponse, query: URLSearchParams) => {
    const resume = request.headers['last-event-id'];
    let after = positionOf(
      typeof resume === 'string' && resume ? resume : (query.get('after') ?? '0'),
      'after',
    );
    const stop = new AbortController();
    tails.add(stop);
    request.on('close', () => stop.abort());
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    response.write(`retry: ${tailPollMs}\n: following after ${after}\n\n`);
    try {
      while (!stop.signal.aborted) {
        let events: Awaited<ReturnType<typeof eventsAfter>> = [];
        try {
          events = await database.use((stores) => eventsAfter(stores, after, 200));
        } catch (error) {
          // A busy PGlite folder or a dropped connection: say so and look again later.
          response.write(`event: problem\ndata: ${JSON.stringify(messageOf(error))}\n\n`);
        }
        if (events.length > 0) {
          after = BigInt(events.at(-1)!.position);
          const rows = events.map((event) => eventRow(event, true));
          response.write(`id: ${after}\nevent: events\ndata: ${JSON.stringify(rows)}\n\n`);
        } else {
          response.write(': idle\n\n');
        }
        if (events.length < 200) await sleep(tailPollMs, stop.signal);
      }
    } finally {
      tails.delete(stop);
      response.end();
    }
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = statusOf(error);
      const message = messageOf(error);
      if (response.headersSent) {
        response.end();
        return;
      }
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      if (path.startsWith('/api/')) sendJson(response, status, { error: message });
      else sendHtml(response, errorPage(status, message, context), status);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    token,
    async close() {
      for (const tail of tails) tail.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await database.close();
    },
  };
}

// Only names of this machine (or the --host given) may address the console: a page elsewhere that
// points a DNS name at 127.0.0.1 cannot read it.
function checkHost(request: IncomingMessage, host: string, port: number): void {
  const given = (request.headers.host ?? '').toLowerCase();
  const allowed = new Set(
    ['127.0.0.1', 'localhost', '[::1]', host.includes(':') ? `[${host}]` : host].map(
      (name) => `${name}:${port}`,
    ),
  );
  if (!allowed.has(given)) {
    throw new HttpError(
      403,
      `Host "${given}" is not this console's address; open it as http://127.0.0.1:${port}/.`,
    );
  }
}

function checkWrite(request: IncomingMessage, allowWrites: boolean, token: string | undefined): void {
  if (!allowWrites || token === undefined) {
    throw new HttpError(
      403,
      'This console is read-only: start it with --allow-writes (and a --token) to retry or skip parked events.',
    );
  }
  const sent = request.headers[TOKEN_HEADER];
  if (typeof sent !== 'string' || !sent || !sameSecret(sent, token)) {
    throw new HttpError(
      403,
      `Write refused: send the token printed at start in the ${TOKEN_HEADER} header (the page's token field).`,
    );
  }
}

function sameSecret(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
