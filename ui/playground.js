// The playground at /: sends the query and documents to POST /rerank on this server, shows the
// ranking with score bars, the latency, and the spec the server decided (GET /info). Text goes
// into the page with textContent only, never as HTML. The API key, when typed, is sent as a
// bearer token and kept nowhere.
'use strict';

const $ = (id) => document.getElementById(id);

function headers() {
  const key = $('api-key').value.trim();
  return key ? { authorization: `Bearer ${key}` } : {};
}

function setStatus(text, isError) {
  $('status').textContent = text;
  $('status').classList.toggle('error', Boolean(isError));
}

/** Bar widths: scores in [0, 1] as they are; anything else (raw logits) scaled to the range shown. */
function widths(scores) {
  if (scores.every((s) => s >= 0 && s <= 1)) return scores;
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  return scores.map((s) => (hi === lo ? 1 : (s - lo) / (hi - lo)));
}

function showResults(ranked) {
  const list = $('results');
  list.replaceChildren();
  const w = widths(ranked.map((r) => r.score));
  ranked.forEach((r, i) => {
    const li = document.createElement('li');
    li.dataset.index = String(r.index);
    const doc = document.createElement('span');
    doc.className = 'doc';
    doc.textContent = r.text;
    const row = document.createElement('span');
    row.className = 'bar-row';
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.style.width = `${(w[i] * 100).toFixed(1)}%`;
    bar.append(fill);
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = `score ${r.score.toFixed(4)} (document ${r.index + 1})`;
    row.append(bar, score);
    li.append(doc, row);
    list.append(li);
  });
}

async function rank(event) {
  event.preventDefault();
  const query = $('query').value;
  const texts = $('documents').value.split('\n').map((t) => t.trim()).filter((t) => t !== '');
  if (texts.length === 0) return setStatus('Type at least one document.', true);
  setStatus('Ranking…');
  $('rank').disabled = true;
  const t0 = performance.now();
  try {
    const r = await fetch('/rerank', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers() },
      body: JSON.stringify({ query, texts, return_text: true, raw_scores: $('raw-scores').checked }),
    });
    const ms = performance.now() - t0;
    const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
    if (!r.ok) {
      $('results').replaceChildren();
      return setStatus(`Error ${r.status} ${body.error_type ?? ''}: ${body.error ?? ''}`, true);
    }
    showResults(body);
    const engine = r.headers.get('x-total-time');
    const tokens = r.headers.get('x-input-tokens');
    setStatus(
      `Ranked ${texts.length} documents in ${ms.toFixed(1)} ms` +
        (engine ? ` (engine ${Number(engine).toFixed(1)} ms` + (tokens ? `, ${tokens} tokens)` : ')') : '') +
        '.',
    );
    if ($('spec').dataset.loaded !== 'true') void loadSpec();
  } catch (e) {
    setStatus(`Request failed: ${e.message}`, true);
  } finally {
    $('rank').disabled = false;
  }
}

function row(dl, term, value) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value === undefined || value === null ? '—' : String(value);
  dl.append(dt, dd);
}

async function loadSpec() {
  const dl = $('spec');
  try {
    const r = await fetch('/info', { headers: headers() });
    if (!r.ok) {
      dl.replaceChildren();
      row(dl, 'spec', r.status === 401 ? 'enter the API key under Options, then Rank' : `GET /info answered ${r.status}`);
      return;
    }
    const info = await r.json();
    const spec = info.spec ?? {};
    dl.replaceChildren();
    row(dl, 'model', info.model ? `${info.model.id}${info.model.demo ? ' (embedded demo model)' : ''}` : null);
    row(dl, 'task', spec.task);
    row(dl, 'family', spec.family);
    row(dl, 'window (tokens)', spec.maxInputLength);
    row(dl, 'activation', spec.activation);
    row(dl, 'labels', Array.isArray(spec.labels) ? spec.labels.join(', ') : null);
    row(dl, 'device', info.device ? info.device.provider ?? info.device.requested : null);
    row(dl, 'version', info.version);
    dl.dataset.loaded = 'true';
  } catch (e) {
    dl.replaceChildren();
    row(dl, 'spec', `GET /info failed: ${e.message}`);
  }
}

$('rank-form').addEventListener('submit', rank);
void loadSpec();
