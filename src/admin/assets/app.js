// The bulk dashboard: one page, no framework, no build step. Every read and action is a call to
// the REST status API with the signed-in integration token, so what the dashboard may see and do
// is exactly what that token may see and do through the API.

import { maskedInput } from './mask.js';

const TOKEN_KEY = 'magento-async.dashboard.token';
const REFRESH_MS = 1000;
const STATUS_NAMES = { 0: 'not started', 1: 'in progress', 2: 'finished', 3: 'finished with failures' };
const OP_STATUS = { 1: 'complete', 2: 'retriably failed', 3: 'failed', 4: 'open', 5: 'rejected' };

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let stopView = () => {};

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`/rest${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    signOut('Your token is not valid here, or lacks the bulk operations resource.');
    throw new ApiError(401, 'unauthorized');
  }
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, json?.message ?? `HTTP ${response.status}`);
  return json;
}

/** A DOM element; children are nodes or strings (always text, never HTML). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    // Through the CSSOM: the page's CSP forbids style attributes.
    else if (k === 'style') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function badge(status) {
  return h('span', { class: `badge s${status}` }, STATUS_NAMES[status] ?? String(status));
}

/** The progress bar by operation status, with its numbers for screen readers. */
function progressBar(counts, total) {
  const n = Math.max(total, 1);
  const done = counts.complete + counts.retriably_failed + counts.not_retriably_failed + counts.rejected;
  const part = (cls, v) => h('span', { class: cls, style: { width: `${(100 * v) / n}%` }, title: `${cls}: ${v}` });
  return h(
    'div',
    {
      class: 'bar',
      role: 'progressbar',
      'aria-valuemin': 0,
      'aria-valuemax': total,
      'aria-valuenow': done,
      'aria-valuetext': `${counts.complete} complete, ${counts.retriably_failed + counts.not_retriably_failed} failed, ${counts.open} open of ${total}`,
    },
    part('complete', counts.complete),
    part('retriable', counts.retriably_failed),
    part('failed', counts.not_retriably_failed),
    part('rejected', counts.rejected),
  );
}

function legend(counts) {
  const item = (cls, label, v) =>
    h('span', {}, h('i', { class: `bar-${cls}`, style: { background: `var(--${cls})` } }), `${label} ${v}`);
  return h(
    'div',
    { class: 'legend' },
    item('complete', 'complete', counts.complete),
    item('retriable', 'retriably failed', counts.retriably_failed),
    item('failed', 'failed', counts.not_retriably_failed),
    item('rejected', 'rejected', counts.rejected),
    item('open', 'open', counts.open),
  );
}

/** Repeats `fn` every REFRESH_MS until the view changes; `fn` returns false to stop. */
function every(fn) {
  let timer = null;
  let stopped = false;
  const run = async () => {
    let again = true;
    try {
      again = (await fn()) !== false;
    } catch (error) {
      if (error.status === 401) return;
      console.error(error);
    }
    if (!stopped && again) timer = setTimeout(run, REFRESH_MS);
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows a server-sent event stream of the status API, read with fetch so the token stays in the
 * Authorization header; reconnects when the server ends it. Returns the function that stops it.
 */
function stream(path, onData, onError) {
  const controller = new AbortController();
  let stopped = false;
  (async () => {
    while (!stopped) {
      try {
        const response = await fetch(`/rest${path}`, {
          headers: { Authorization: `Bearer ${token()}` },
          signal: controller.signal,
        });
        if (response.status === 401)
          return signOut('Your token is not valid here, or lacks the bulk operations resource.');
        if (!response.ok) {
          const json = await response.json().catch(() => null);
          onError?.(json?.message ?? `HTTP ${response.status}`);
          await sleep(2000);
          continue;
        }
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = frame
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => line.slice(6))
              .join('\n');
            if (data && !stopped) await onData(JSON.parse(data));
          }
        }
      } catch (error) {
        if (stopped) return;
        console.error(error);
      }
      if (!stopped) await sleep(300);
    }
  })();
  return () => {
    stopped = true;
    controller.abort();
  };
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  nav.hidden = true;
  stopView();
  signInView(message);
}

function signInView(message) {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, size: 40 });
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '');
  show(
    h(
      'section',
      { class: 'card signin' },
      h('h2', {}, 'Sign in'),
      h(
        'p',
        { class: 'muted' },
        'Use an integration token with the Magento_Logging::system_magento_logging_bulk_operations resource ' +
          '(all bulks) or any token (its own bulks).',
      ),
      h(
        'form',
        {
          onsubmit: async (event) => {
            event.preventDefault();
            sessionStorage.setItem(TOKEN_KEY, input.value.trim());
            try {
              await api('GET', '/V1/bulks?pageSize=1');
              nav.hidden = false;
              route();
            } catch (e) {
              if (e.status !== 401) error.textContent = e.message;
            }
          },
        },
        h('label', { for: 'token' }, 'Integration token', input),
        h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
      ),
      error,
    ),
  );
  input.focus();
}

// ---- bulk list -------------------------------------------------------------------------------

const listState = { status: '', user_type: '', user_id: '', from: '', to: '', q: '', page: 1 };

function listView() {
  const field = (name, label, attrs = {}) =>
    h(
      'label',
      {},
      label,
      h('input', {
        name,
        value: listState[name],
        ...attrs,
        oninput: (e) => {
          listState[name] = e.target.value;
          listState.page = 1;
          restart();
        },
      }),
    );
  const status = h(
    'select',
    {
      name: 'status',
      onchange: (e) => {
        listState.status = e.target.value;
        listState.page = 1;
        restart();
      },
    },
    h('option', { value: '' }, 'any'),
    ...Object.entries(STATUS_NAMES).map(([v, label]) =>
      h('option', { value: v, selected: listState.status === v }, label),
    ),
  );
  const tbody = h('tbody');
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const pager = h('div', { class: 'pager' });
  show(
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Bulks'),
      h(
        'form',
        { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() },
        h('label', {}, 'Status', status),
        field('q', 'Description or uuid', { type: 'search', placeholder: 'Topic …' }),
        field('user_type', 'User type', { inputmode: 'numeric', size: 4 }),
        field('user_id', 'User id', { inputmode: 'numeric', size: 6 }),
        field('from', 'From (UTC)', { type: 'date' }),
        field('to', 'Before (UTC)', { type: 'date' }),
      ),
    ),
    h(
      'section',
      { class: 'card' },
      summary,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Description'),
            h('th', {}, 'Started (UTC)'),
            h('th', {}, 'User'),
            h('th', {}, 'Status'),
            h('th', { style: { width: '30%' } }, 'Progress'),
            h('th', { class: 'num' }, 'Operations'),
          ),
        ),
        tbody,
      ),
      pager,
    ),
  );
  const render = (data) => {
    summary.textContent = `${data.total_count} bulk${data.total_count === 1 ? '' : 's'}`;
    tbody.replaceChildren(
      ...data.items.map((b) =>
        h(
          'tr',
          { 'data-bulk': b.bulk_id },
          h(
            'td',
            {},
            h('a', { href: `#/bulk/${b.bulk_id}` }, b.description || '(no description)'),
            h('div', { class: 'muted mono' }, b.bulk_id),
          ),
          h('td', {}, b.start_time),
          h('td', {}, `${b.user_type ?? '–'} / ${b.user_id ?? '–'}`),
          h('td', {}, badge(b.bulk_status)),
          h('td', {}, progressBar(b.operation_counts, b.operation_count)),
          h('td', { class: 'num' }, b.operation_count),
        ),
      ),
    );
    const pages = Math.max(1, Math.ceil(data.total_count / 20));
    const turn = (delta) => () => {
      listState.page += delta;
      restart();
    };
    pager.replaceChildren(
      h('button', { type: 'button', disabled: listState.page <= 1, onclick: turn(-1) }, 'Previous'),
      h('span', {}, `page ${listState.page} of ${pages}`),
      h('button', { type: 'button', disabled: listState.page >= pages, onclick: turn(1) }, 'Next'),
    );
  };
  let stopStream = () => {};
  let pending = null;
  // Typing restarts the stream once the keys rest for a moment, not on every key.
  function restart() {
    clearTimeout(pending);
    pending = setTimeout(() => {
      stopStream();
      const params = new URLSearchParams();
      for (const k of ['status', 'user_type', 'user_id', 'from', 'to', 'q'])
        if (listState[k]) params.set(k, listState[k]);
      params.set('page', String(listState.page));
      params.set('pageSize', '20');
      stopStream = stream(`/V1/bulks/stream?${params}`, render, (message) => (summary.textContent = message));
    }, 150);
  }
  restart();
  stopView = () => {
    clearTimeout(pending);
    stopStream();
  };
}

// ---- one bulk ------------------------------------------------------------------------------

function formatSeconds(s) {
  if (!Number.isFinite(s)) return '–';
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** `/V1/bulk` for the operations of one bulk that match every other filter: [field, value, condition?]. */
function bulkSearch(uuid, filters) {
  const p = new URLSearchParams();
  [['bulk_uuid', uuid], ...filters].forEach(([field, value, condition], group) => {
    const f = `searchCriteria[filter_groups][${group}][filters][0]`;
    p.set(`${f}[field]`, field);
    p.set(`${f}[value]`, value);
    if (condition) p.set(`${f}[condition_type]`, condition);
  });
  p.set('searchCriteria[pageSize]', '100');
  return `/V1/bulk?${p}`;
}

const failedSearch = (uuid) => bulkSearch(uuid, [['status', '2,3', 'in']]);

/**
 * The operations of a bulk waiting for one they require (docs/dependencies.md): open, their
 * result_message saying for what (src/operations/requires.ts, waitingMessage).
 */
const waitingSearch = (uuid) =>
  bulkSearch(uuid, [
    ['status', '4'],
    ['result_message', 'Waiting for %', 'like'],
  ]);

/** A wait's message with the bulk it names linked to that bulk's page. */
function waitText(text) {
  const m = /^(.*operation \d+ of bulk )([0-9a-f-]{36})(.*)$/.exec(text);
  return m ? [m[1], h('a', { href: `#/bulk/${m[2]}`, class: 'mono' }, m[2]), m[3]] : [text];
}

/**
 * Fills a table of operations from a search answer (`{items, total_count}`): its note says "None."
 * or how many of how many it shows, its body one `row(op)` per item.
 */
function fillTable(body, note, data, row) {
  note.textContent =
    data.total_count === 0
      ? 'None.'
      : data.total_count > data.items.length
        ? `First ${data.items.length} of ${data.total_count}.`
        : '';
  body.replaceChildren(...data.items.map(row));
}

function bulkView(uuid) {
  const head = h('div');
  const stats = h('dl', { class: 'stats' });
  const bar = h('div', { 'aria-live': 'polite' });
  const message = h('p', { role: 'status', class: 'muted' });
  const failedBody = h('tbody');
  const failedNote = h('p', { class: 'muted' });
  const waitingBody = h('tbody');
  const waitingNote = h('p', { class: 'muted' });
  const hook = h('div');
  const actions = h('div', { class: 'actions' });
  const samples = [];

  const retry = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      id: 'retry',
      onclick: async () => {
        retry.disabled = true;
        try {
          const r = await api('POST', `/V1/bulk/${uuid}/retry`, {});
          message.textContent = `${r.reopened} operation${r.reopened === 1 ? '' : 's'} reopened.`;
          // The failed list is read again at the next drawing, whatever the counts say.
          failedKey = null;
        } catch (e) {
          message.textContent = e.message;
        } finally {
          retry.disabled = false;
        }
      },
    },
    'Retry failed',
  );
  const cancel = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      onclick: async () => {
        if (!confirm('Cancel the operations that have not started?')) return;
        try {
          const r = await api('POST', `/V1/bulk/${uuid}/cancel`, {});
          message.textContent = `${r.canceled} operation${r.canceled === 1 ? '' : 's'} canceled.`;
        } catch (e) {
          message.textContent = e.message;
        }
      },
    },
    'Cancel open',
  );
  const download = h(
    'button',
    {
      type: 'button',
      onclick: async () => {
        // A plain link cannot carry the bearer token: fetch, then hand the browser a blob.
        const response = await fetch(`/rest/V1/bulk/${uuid}/results.ndjson`, {
          headers: { Authorization: `Bearer ${token()}` },
        });
        if (!response.ok) return void (message.textContent = `Download failed: HTTP ${response.status}`);
        const url = URL.createObjectURL(await response.blob());
        const a = h('a', { href: url, download: `${uuid}.ndjson` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      },
    },
    'Download results (NDJSON)',
  );
  actions.append(retry, cancel, download);

  show(
    h('p', {}, h('a', { href: '#/' }, '← All bulks')),
    h('section', { class: 'card' }, head, bar, stats, actions, message),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Failed operations'),
      failedNote,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { class: 'num' }, '#'),
            h('th', {}, 'Topic'),
            h('th', {}, 'Status'),
            h('th', {}, 'Code'),
            h('th', {}, 'Message and input'),
          ),
        ),
        failedBody,
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Waiting operations'),
      waitingNote,
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, 'Topic'), h('th', {}, 'Waits for'))),
        waitingBody,
      ),
    ),
    h('section', { class: 'card' }, h('h2', {}, 'Completion webhook'), hook),
  );

  const failedRow = (op) =>
    h(
      'tr',
      { 'data-operation': op.id },
      h('td', { class: 'num' }, op.id),
      h('td', { class: 'mono' }, op.topic_name),
      h('td', {}, OP_STATUS[op.status] ?? op.status),
      h('td', {}, op.error_code ?? ''),
      h(
        'td',
        {},
        h('div', { class: 'error' }, op.result_message ?? ''),
        h('details', {}, h('summary', {}, 'Input'), h('pre', {}, maskedInput(op.serialized_data))),
      ),
    );
  const waitingRow = (op) =>
    h(
      'tr',
      { 'data-waiting': op.id },
      h('td', { class: 'num' }, op.id),
      h('td', { class: 'mono' }, op.topic_name),
      h('td', { class: 'wait' }, ...waitText(op.result_message ?? '')),
    );

  /** Renders the bulk's summary (heading, bar, figures, buttons) from one status read. */
  function renderSummary(b) {
    const c = b.operation_counts;
    const done = c.complete + c.retriably_failed + c.not_retriably_failed + c.rejected;
    const first = samples[0];
    const last = samples[samples.length - 1];
    const rate = last && last.now > first.now ? ((last.done - first.done) * 1000) / (last.now - first.now) : 0;
    const finished = b.bulk_status >= 2;
    head.replaceChildren(
      h('h2', {}, b.description || '(no description)', ' ', badge(b.bulk_status)),
      h(
        'p',
        { class: 'muted mono' },
        uuid,
        ` · started ${b.start_time} UTC · user ${b.user_type ?? '–'} / ${b.user_id ?? '–'}`,
      ),
    );
    bar.replaceChildren(progressBar(c, b.operation_count), legend(c));
    const stat = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));
    stats.replaceChildren(
      stat('Operations', b.operation_count),
      stat('Done', done),
      stat('Open', c.open),
      stat('Failed', c.retriably_failed + c.not_retriably_failed),
      stat('Throughput', finished ? '–' : `${rate.toFixed(1)} /s`),
      stat('ETA', finished ? 'done' : rate > 0 ? formatSeconds(c.open / rate) : '–'),
    );
    retry.disabled = c.retriably_failed + c.not_retriably_failed === 0;
    cancel.disabled = c.open === 0;
  }

  // The cards change together: each status change reads the failed and the waiting operations,
  // then draws the summary and both tables in one step, so the page never shows a bulk finished
  // beside a wait of it that ended. A wait begins and ends without the counts moving: while the
  // bulk has open operations the waits are read again every REFRESH_MS (the failed list changes
  // only with the counts, and is read again only when they move), and once more after.
  let latest = null;
  let drawn = null;
  let failedKey = null;
  let failedData = null;
  let drawing = null;
  let again = false;
  async function draw() {
    const b = latest;
    const c = b.operation_counts;
    const done = c.complete + c.retriably_failed + c.not_retriably_failed + c.rejected;
    const key = `${b.bulk_status}:${done}:${c.open}`;
    const failedRead = failedKey !== key;
    const [failed, waiting] = await Promise.all([
      failedRead ? api('GET', failedSearch(uuid)) : failedData,
      c.open > 0 || drawn === null || drawn.operation_counts.open > 0
        ? api('GET', waitingSearch(uuid))
        : { items: [], total_count: 0 },
    ]);
    failedKey = key;
    failedData = failed;
    renderSummary(b);
    // Left as drawn when not read again, so an input someone opened stays open.
    if (failedRead) fillTable(failedBody, failedNote, failed, failedRow);
    fillTable(waitingBody, waitingNote, waiting, waitingRow);
    drawn = b;
  }
  /** Draws the latest status; a change that arrives meanwhile is drawn right after. */
  function refreshCards() {
    if (drawing) return void (again = true);
    drawing = (async () => {
      try {
        do {
          again = false;
          await draw();
        } while (again);
      } catch (error) {
        if (error.status !== 401) message.textContent = error.message;
      } finally {
        drawing = null;
      }
    })();
  }

  async function refreshHook() {
    const w = await api('GET', `/V1/bulk/${uuid}/webhook`);
    hookState = w ? w.state : 'none';
    if (!w) return hook.replaceChildren(h('p', { class: 'muted' }, 'No webhook was requested for this bulk.'));
    hook.replaceChildren(
      h(
        'p',
        {},
        h('span', { class: 'mono' }, w.url),
        ` — ${w.state}, ${w.attempts} attempt${w.attempts === 1 ? '' : 's'}`,
      ),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Attempt'),
            h('th', {}, 'Sent'),
            h('th', {}, 'Answer'),
            h('th', { class: 'num' }, 'ms'),
          ),
        ),
        h(
          'tbody',
          {},
          ...w.deliveries.map((d) =>
            h(
              'tr',
              {},
              h('td', {}, d.attempt),
              h('td', {}, d.sent_at),
              h('td', {}, d.http_status ? `HTTP ${d.http_status}` : '', d.error ? ` ${d.error}` : ''),
              h('td', { class: 'num' }, d.duration_ms),
            ),
          ),
        ),
      ),
    );
  }

  let hookState = null;
  const stopStream = stream(
    `/V1/bulk/${uuid}/stream`,
    (b) => {
      if (b === null) return void (message.textContent = 'This bulk no longer exists.');
      const c = b.operation_counts;
      const done = c.complete + c.retriably_failed + c.not_retriably_failed + c.rejected;
      const now = performance.now();
      samples.push({ now, done });
      while (samples.length > 1 && now - samples[0].now > 15_000) samples.shift();
      latest = b;
      refreshCards();
    },
    (error) => (message.textContent = error),
  );
  // Deliveries happen after the bulk stopped changing: the webhook is read until it is settled.
  const stopHook = every(async () => {
    await refreshHook();
    return hookState === null || hookState === 'pending';
  });
  // Waits, while something is open (the same drawing as a status change).
  const stopWaits = every(async () => {
    if (latest && latest.operation_counts.open > 0) refreshCards();
  });
  stopView = () => {
    stopStream();
    stopHook();
    stopWaits();
  };
}

// ---- queues --------------------------------------------------------------------------------

function queuesView() {
  const queues = h('tbody');
  const consumers = h('tbody');
  const note = h('p', { class: 'muted' });
  show(
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Queues'),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Queue'),
            h('th', { class: 'num' }, 'Waiting'),
            h('th', { class: 'num' }, 'Running'),
            h('th', { class: 'num' }, 'Retries pending'),
            h('th', { class: 'num' }, 'Oldest open'),
          ),
        ),
        queues,
      ),
    ),
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Consumers'),
      note,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Host / pid'),
            h('th', {}, 'Queues'),
            h('th', {}, 'Started'),
            h('th', {}, 'Last seen'),
            h('th', { class: 'num' }, 'Handled'),
            h('th', { class: 'num' }, 'Rate'),
          ),
        ),
        consumers,
      ),
    ),
  );
  stopView = every(async () => {
    const data = await api('GET', '/V1/queues');
    queues.replaceChildren(
      ...(data.queues.length ? data.queues : [null]).map((q) =>
        q
          ? h(
              'tr',
              {},
              h('td', { class: 'mono' }, q.queue),
              h('td', { class: 'num' }, q.queued),
              h('td', { class: 'num' }, q.active),
              h('td', { class: 'num' }, q.retry),
              h('td', { class: 'num' }, q.oldest_seconds === null ? '–' : formatSeconds(q.oldest_seconds)),
            )
          : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'Nothing queued.')),
      ),
    );
    note.textContent = `Alive: a heartbeat within ${data.alive_seconds} s.`;
    consumers.replaceChildren(
      ...data.consumers.map((c) =>
        h(
          'tr',
          {},
          h('td', {}, `${c.host} / ${c.pid}`, c.alive ? '' : ' (gone)'),
          h('td', { class: 'mono' }, c.queues.length > 3 ? `${c.queues.length} queues` : c.queues.join(', ')),
          h('td', {}, new Date(c.started_at).toISOString().slice(0, 19).replace('T', ' ')),
          h('td', {}, `${Math.round(c.seen_seconds_ago)} s ago`),
          h('td', { class: 'num' }, c.handled),
          h('td', { class: 'num' }, `${c.rate.toFixed(1)} /s`),
        ),
      ),
    );
    return true;
  });
}

// ---- routing -------------------------------------------------------------------------------

function route() {
  stopView();
  stopView = () => {};
  if (!token()) return signInView();
  nav.hidden = false;
  const hash = location.hash.replace(/^#/, '') || '/';
  const bulk = /^\/bulk\/([0-9a-f-]{36})$/i.exec(hash);
  if (bulk) bulkView(bulk[1]);
  else if (hash === '/queues') queuesView();
  else listView();
  main.focus({ preventScroll: true });
}

document.getElementById('signout').addEventListener('click', () => signOut());
window.addEventListener('hashchange', route);
route();
