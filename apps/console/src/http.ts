import type { IncomingMessage, ServerResponse } from 'node:http';
import { isEmbeddedDatabaseLockedError } from '@es/store-postgres';
import type { EventSearch } from './queries.js';

// The console's HTTP plumbing: reading a request's body and parameters (each refusal an HttpError
// with its status and what to send instead), and writing answers.

/** A request the console refuses, with the status to answer and a message saying what to do. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The request's JSON body (at most 10,000 characters). */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of request) {
    text += String(chunk);
    if (text.length > 10_000) throw new HttpError(413, 'Request body too large (at most 10 000 characters).');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'The body must be JSON: {"subscriptionId": "...", "position": "..."}.');
  }
}

/** A non-empty string field of a JSON body. */
export function stringField(body: unknown, name: string): string {
  const value =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  if (typeof value !== 'string' || value === '')
    throw new HttpError(400, `"${name}" is missing: expected a non-empty string.`);
  return value;
}

/** A global position given as decimal digits. */
export function positionOf(text: string, name: string): bigint {
  if (!/^\d{1,19}$/.test(text))
    throw new HttpError(
      400,
      `"${name}" must be a global position (decimal digits), got "${text.slice(0, 40)}".`,
    );
  return BigInt(text);
}

/** An optional whole-number query parameter. */
export function intOf(text: string | null): number | undefined {
  if (text === null || text === '') return undefined;
  if (!/^\d{1,9}$/.test(text))
    throw new HttpError(400, `Expected a whole number, got "${text.slice(0, 40)}".`);
  return Number(text);
}

/** The event search filters of a query string (`stream`, `type`, `from`, `to`, `limit`). */
export function searchOf(query: URLSearchParams): EventSearch {
  const date = (name: string): Date | undefined => {
    const text = query.get(name);
    if (!text) return undefined;
    // datetime-local inputs send no zone: the page says times are UTC.
    const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
    if (Number.isNaN(date.getTime()))
      throw new HttpError(400, `"${name}" is not a time: "${text.slice(0, 40)}" (use 2026-01-31T12:00:00Z).`);
    return date;
  };
  const from = date('from');
  const to = date('to');
  const stream = query.get('stream') || undefined;
  const type = query.get('type') || undefined;
  const limit = intOf(query.get('limit'));
  return {
    ...(stream ? { stream } : {}),
    ...(type ? { type } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(limit ? { limit } : {}),
  };
}

/** The HTTP status for an error: its own, 400 for bad input, 503 for an unavailable store, else 500. */
export function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (isEmbeddedDatabaseLockedError(error)) return 503;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ES_INVALID_ARGUMENT') return 400;
  if (code === 'ES_EVENT_STORE_UNAVAILABLE' || code === 'ES_STORE_CLOSED') return 503;
  return 500;
}

/** An error's message, prefixed with the toolkit's error code when it has one. */
export function messageOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof HttpError || typeof code !== 'string' ? message : `${code}: ${message}`;
}

/** Sends `body` with the console's headers (no caching, no content sniffing). */
export function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  response.end(body);
}

/** Sends an HTML page. */
export function sendHtml(response: ServerResponse, html: string, status = 200): void {
  send(response, status, 'text/html; charset=utf-8', html);
}

/** Sends `body` as JSON. */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body));
}
