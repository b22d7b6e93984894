import type { ParkedView } from './parked.js';
import type { EventSearch, EventView, GroupView, LagView, StreamView, SubscriptionView } from './queries.js';

/** What every page shows in its header. */
export interface PageContext {
  readonly description: string;
  readonly writes: boolean;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const NAV = [
  ['streams', '/streams', 'Streams'],
  ['events', '/events', 'Search'],
  ['tail', '/tail', 'Live'],
  ['consumers', '/consumers', 'Consumers'],
  ['parked', '/parked', 'Parked'],
] as const;

/** The page frame: navigation, the source, the write mode, then `body`. */
export function layout(view: string, title: string, body: string, context: PageContext): string {
  const nav = NAV.map(
    ([id, href, label]) =>
      `<a href="${href}"${id === view ? ' class="current" aria-current="page"' : ''}>${label}</a>`,
  ).join('');
  const mode = context.writes
    ? `<span class="mode writes" data-testid="mode">writes allowed</span>
       <label class="token">token <input id="token" type="password" autocomplete="off" size="20"></label>`
    : '<span class="mode" data-testid="mode">read-only</span>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)} · es console</title><link rel="stylesheet" href="/style.css"></head>
<body data-view="${view}" data-writes="${context.writes}">
<header><strong>es console</strong><nav>${nav}</nav>${mode}</header>
<p class="source">${escapeHtml(context.description)}</p>
<main><h1>${escapeHtml(title)}</h1>${body}</main>
<p id="status" role="status"></p>
<script src="/app.js"></script>
</body></html>`;
}

/** The stream list with its search box. */
export function streamsPage(streams: readonly StreamView[], search: string, context: PageContext): string {
  const rows = streams
    .map(
      (
        stream,
      ) => `<tr><td><a href="/stream?id=${encodeURIComponent(stream.streamId)}">${escapeHtml(stream.streamId)}</a></td>
<td class="num">${stream.version}</td><td>${escapeHtml(stream.lastType)}</td><td>${time(stream.lastAt)}</td></tr>`,
    )
    .join('');
  const body = `<form class="filters" method="get" action="/streams">
<label>stream id contains <input name="q" value="${escapeHtml(search)}"></label> <button>Search</button></form>
${
  streams.length === 0
    ? '<p class="empty">No stream matches.</p>'
    : `<table id="streams"><thead><tr><th>stream</th><th>version</th><th>last event</th><th>last written</th></tr></thead><tbody>${rows}</tbody></table>`
}`;
  return layout('streams', 'Streams', body, context);
}

/** One stream's events, oldest first. */
export function streamPage(streamId: string, events: readonly EventView[], context: PageContext): string {
  const body =
    events.length === 0
      ? '<p class="empty">This stream has no events.</p>'
      : eventTable(events, { stream: false, id: 'stream-events' });
  return layout('streams', `Stream ${streamId}`, body, context);
}

/** The event search: by stream id, type and time. */
export function eventsPage(
  search: EventSearch,
  events: readonly EventView[] | undefined,
  context: PageContext,
): string {
  const form = `<form class="filters" method="get" action="/events">
<label>stream id contains <input name="stream" value="${escapeHtml(search.stream ?? '')}"></label>
<label>type <input name="type" value="${escapeHtml(search.type ?? '')}"></label>
<label>from <input name="from" type="datetime-local" step="1" value="${localInput(search.from)}"></label>
<label>to <input name="to" type="datetime-local" step="1" value="${localInput(search.to)}"></label>
<button>Search</button></form>
<p class="hint">Times are UTC. The first 100 matches in log order.</p>`;
  const results =
    events === undefined
      ? ''
      : events.length === 0
        ? '<p class="empty" id="no-results">No event matches.</p>'
        : eventTable(events, { stream: true, id: 'results' });
  return layout('events', 'Search events', form + results, context);
}

/** The live tail: the last events, then new ones as they are appended (Server-Sent Events). */
export function tailPage(events: readonly EventView[], context: PageContext): string {
  const after = events.at(-1)?.position ?? '0';
  const body = `<p class="hint">Newest first. <span id="live-state" data-state="connecting">connecting…</span></p>
${eventTable([...events].reverse(), { stream: true, id: 'tail', after })}`;
  return layout('tail', 'Live log', body, context);
}

/** Consumer groups (members, partitions, leases, lag) and the other subscriptions. */
export function consumersPage(
  consumers: { groups: readonly GroupView[]; subscriptions: readonly SubscriptionView[] },
  context: PageContext,
): string {
  const groups = consumers.groups
    .map(
      (group) => `<section class="group" data-group="${escapeHtml(group.name)}">
<h2>Group ${escapeHtml(group.name)}</h2>
<p>Members: ${group.members.length === 0 ? '<em>none alive</em>' : group.members.map((m) => `<code>${escapeHtml(m)}</code>`).join(', ')}</p>
<table class="partitions"><thead><tr><th>partition</th><th>checkpoint</th><th>lag (events)</th><th>lag (age of oldest)</th>
<th>lease owner</th><th>token</th><th>lease expires</th><th>parked</th></tr></thead><tbody>
${group.partitions
  .map(
    (
      p,
    ) => `<tr data-partition="${p.partition}"><td class="num">${p.partition}</td><td class="num">${p.checkpoint ?? '—'}</td>
${lagCells(p.lag)}<td>${p.owner === null ? '<em>free</em>' : escapeHtml(p.owner)}</td><td class="num">${p.token ?? '—'}</td>
<td>${p.leaseExpiresAt === null ? '—' : time(p.leaseExpiresAt)}</td><td class="num">${parkedLink(p.parked, p.subscriptionId)}</td></tr>`,
  )
  .join('')}
</tbody></table></section>`,
    )
    .join('');
  const subscriptions =
    consumers.subscriptions.length === 0
      ? '<p class="empty">No other checkpoint.</p>'
      : `<table id="subscriptions"><thead><tr><th>subscription</th><th>checkpoint</th><th>lag (events)</th><th>lag (age of oldest)</th><th>updated</th><th>parked</th></tr></thead><tbody>
${consumers.subscriptions
  .map(
    (
      s,
    ) => `<tr data-subscription="${escapeHtml(s.subscriptionId)}"><td>${escapeHtml(s.subscriptionId)}</td><td class="num">${s.checkpoint}</td>
${lagCells(s.lag)}<td>${time(s.updatedAt)}</td><td class="num">${parkedLink(s.parked, s.subscriptionId)}</td></tr>`,
  )
  .join('')}</tbody></table>`;
  const body = `<p class="hint">Lag: events after the checkpoint (a partition counts the events of its streams,
placed by the default key, the stream id), and how long ago the oldest of them was written.</p>
${consumers.groups.length === 0 ? '<p class="empty">No consumer group.</p>' : groups}
<h2>Projections and subscriptions</h2>${subscriptions}`;
  return layout('consumers', 'Consumers', body, context);
}

/** Parked events; with writes allowed, a Retry and a Skip button each. */
export function parkedPage(parked: readonly ParkedView[], context: PageContext): string {
  const rows = parked
    .map(
      (p) => `<tr data-subscription="${escapeHtml(p.subscriptionId)}" data-position="${p.position}">
<td>${escapeHtml(p.subscriptionId)}</td><td class="num">${p.position}</td>
<td><a href="/stream?id=${encodeURIComponent(p.streamId)}">${escapeHtml(p.streamId)}</a></td><td>${escapeHtml(p.eventType)}</td>
<td class="error">${escapeHtml(p.error)}</td><td class="num">${p.attempts}</td><td>${time(p.parkedAt)}</td>
<td class="retry-requested">${p.retryRequestedAt ? time(p.retryRequestedAt) : '-'}</td>
${context.writes ? '<td><button class="retry" type="button">Retry</button> <button class="skip" type="button">Skip</button></td>' : ''}</tr>`,
    )
    .join('');
  const body = `<p class="hint">Events a handler kept failing on. Retrying runs the handler, which lives in your
workers, so Retry asks the running worker that owns the event's subscription to handle it again: it does
within about a second; on success the event leaves this list, on failure the request is cleared and the
attempt and error recorded. (In code: <code>retryParked</code>; or <code>es parked retry</code>.) ${
    context.writes
      ? 'Skip deletes the record: the event is not retried.'
      : 'Retrying and skipping are writes: start the console with <code>--allow-writes</code>.'
  }</p>
${
  parked.length === 0
    ? '<p class="empty">No parked event.</p>'
    : `<table id="parked"><thead><tr><th>subscription</th><th>position</th><th>stream</th><th>type</th><th>error</th><th>attempts</th><th>parked</th><th>retry requested</th>${context.writes ? '<th></th>' : ''}</tr></thead><tbody>${rows}</tbody></table>`
}`;
  return layout('parked', 'Parked events', body, context);
}

/** A page for an error: what went wrong and what to do. */
export function errorPage(status: number, message: string, context: PageContext): string {
  return layout(
    'error',
    status === 404 ? 'Not found' : 'Error',
    `<p class="error" data-status="${status}">${escapeHtml(message)}</p>`,
    context,
  );
}

function eventTable(
  events: readonly EventView[],
  options: { stream: boolean; id: string; after?: string },
): string {
  const head = `<tr><th>position</th>${options.stream ? '<th>stream</th>' : ''}<th>version</th><th>type</th><th>written</th><th>data</th></tr>`;
  const after = options.after === undefined ? '' : ` data-after="${options.after}"`;
  return `<table id="${options.id}" class="events"${after}><thead>${head}</thead><tbody>${events.map((e) => eventRow(e, options.stream)).join('')}</tbody></table>`;
}

/** One event as a table row (the live tail's script builds the same shape). */
export function eventRow(event: EventView, withStream: boolean): string {
  const stream = withStream
    ? `<td><a href="/stream?id=${encodeURIComponent(event.streamId)}">${escapeHtml(event.streamId)}</a></td>`
    : '';
  return `<tr data-position="${event.position}"><td class="num">${event.position}</td>${stream}<td class="num">${event.version}</td>
<td class="type">${escapeHtml(event.type)}</td><td>${time(event.timestamp)}</td>
<td><details><summary>${escapeHtml(preview(event.data))}</summary><pre>${escapeHtml(JSON.stringify({ data: event.data, metadata: event.metadata, eventId: event.eventId, schemaVersion: event.schemaVersion }, null, 2))}</pre></details></td></tr>`;
}

function lagCells(lag: LagView): string {
  return `<td class="num lag-events">${lag.capped ? '≥ ' : ''}${lag.events}</td><td class="num lag-seconds">${lag.events === 0 ? '—' : `${lag.seconds} s`}</td>`;
}

function parkedLink(count: number, subscriptionId: string): string {
  return count === 0 ? '0' : `<a href="/parked#${encodeURIComponent(subscriptionId)}">${count}</a>`;
}

function time(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</time>`;
}

function preview(data: unknown): string {
  const text = JSON.stringify(data) ?? '';
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function localInput(date: Date | undefined): string {
  return date === undefined ? '' : date.toISOString().slice(0, 19);
}

/** The page styles. */
export const STYLE = `
body{font:14px system-ui,sans-serif;margin:0;color:#1d2330;background:#f7f8fa}
header{display:flex;gap:1.5em;align-items:center;padding:.6em 1.2em;background:#1d2330;color:#fff}
header nav a{color:#cdd6e6;margin-right:1em;text-decoration:none}header nav a.current{color:#fff;font-weight:600;border-bottom:2px solid #6ea8fe}
.mode{margin-left:auto;padding:.1em .6em;border-radius:1em;background:#3a4356}.mode.writes{background:#a33}
.token input{margin-left:.4em}
.source{margin:.4em 1.2em;color:#5b6475;font-size:12px}
main{padding:0 1.2em 2em}
table{border-collapse:collapse;background:#fff;margin:.5em 0;min-width:60%}
th,td{border:1px solid #dfe3ea;padding:.3em .6em;text-align:left;vertical-align:top}th{background:#eef1f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.error{color:#a33;max-width:30em}
details pre{margin:.3em 0;font-size:12px;white-space:pre-wrap}summary{cursor:pointer;font-family:monospace}
.filters label{margin-right:1em}.hint{color:#5b6475}.empty{color:#5b6475;font-style:italic}
tr.new{animation:flash 2s}@keyframes flash{from{background:#fff4b3}to{background:#fff}}
#status{position:fixed;bottom:0;right:1em;margin:0;padding:.3em .6em}#status.error{background:#fdd;color:#a33}
#status:empty{display:none}
`;

/** The page script: the live tail (Server-Sent Events) and the write buttons. No framework. */
export const SCRIPT = `
(function () {
  var status = document.getElementById('status');
  function say(text, isError) { status.textContent = text; status.className = isError ? 'error' : ''; }

  var tokenInput = document.getElementById('token');
  if (tokenInput) {
    // The URL printed at start carries the token in its fragment, which is never sent to a server.
    var takeToken = function () {
      var fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
      if (fromHash) {
        sessionStorage.setItem('es-console-token', decodeURIComponent(fromHash[1]));
        history.replaceState(null, '', location.pathname + location.search);
        say('', false);
      }
      tokenInput.value = sessionStorage.getItem('es-console-token') || '';
    };
    takeToken();
    window.addEventListener('hashchange', takeToken);
    tokenInput.addEventListener('change', function () { sessionStorage.setItem('es-console-token', tokenInput.value); });
  }

  // Retry and Skip on the parked view: one POST each, with the token.
  document.addEventListener('click', function (event) {
    var button = event.target.closest('button.skip, button.retry');
    if (!button) return;
    var row = button.closest('tr');
    var retry = button.classList.contains('retry');
    button.disabled = true;
    fetch(retry ? '/api/parked/retry' : '/api/parked/skip', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-console-token': tokenInput ? tokenInput.value : '' },
      body: JSON.stringify({ subscriptionId: row.dataset.subscription, position: row.dataset.position })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.error || response.statusText);
        if (retry) {
          row.querySelector('td.retry-requested').textContent = 'requested';
          say('Retry requested for ' + body.subscriptionId + ' @ ' + body.position + ': its worker retries it within about a second', false);
        } else {
          row.remove();
          say('Skipped ' + body.subscriptionId + ' @ ' + body.position, false);
        }
      });
    }).catch(function (error) { button.disabled = false; say(error.message, true); });
  });

  var tail = document.getElementById('tail');
  if (tail && window.EventSource) {
    var state = document.getElementById('live-state');
    var source = new EventSource('/api/tail?after=' + encodeURIComponent(tail.dataset.after || '0'));
    source.onopen = function () { state.textContent = 'following'; state.dataset.state = 'open'; };
    source.onerror = function () { state.textContent = 'reconnecting…'; state.dataset.state = 'error'; };
    source.addEventListener('events', function (message) {
      var body = tail.tBodies[0];
      JSON.parse(message.data).forEach(function (html) {
        var holder = document.createElement('tbody');
        holder.innerHTML = html;
        var row = holder.firstElementChild;
        row.classList.add('new');
        body.insertBefore(row, body.firstChild);
      });
      while (body.rows.length > 500) body.deleteRow(body.rows.length - 1);
    });
  }
})();
`;
