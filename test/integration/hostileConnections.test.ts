/**
 * Hostile connections (issue 11, findings 5, 7, 9, 10): bodies that never end or arrive slowly,
 * declared sizes over the limit, Expect headers, CONNECT, a missing Host, many bodies at once, an
 * answer over its budget, and the signals SIGUSR1, SIGHUP and SIGTERM during a slow upload. Raw
 * sockets against the real server with short timeouts (BODY_TIMEOUT=2, HEADERS_TIMEOUT=1) and
 * small budgets, so each case shows its class in seconds. As in hostile.test.ts: the process
 * lives, /ping probed every 100 ms stays under PING_MAX_MS, the server's peak RSS growth stays
 * bounded, and a normal request right after succeeds.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { measured, parseRaw, rawHttp, type RawResult } from '../helpers/hostile';
import { ensureModel } from '../helpers/models';
import { postJson, startServer, type TestServer } from '../helpers/server';

const PING_MAX_MS = 500;
const RSS_MAX_MB = 100;
const QUERY = 'What is the capital of France?';
const PARIS = 'Paris is the capital and largest city of France.';
const ENV = { BODY_TIMEOUT: '2', HEADERS_TIMEOUT: '1', MAX_BODY_MEMORY_MB: '8', MAX_RESPONSE_MB: '0.05' };
const OK_BODY = JSON.stringify({ query: QUERY, texts: [PARIS] });

let s: TestServer;

const head = (method: string, path: string, headers: Record<string, string | number>): string =>
  `${method} ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;

async function check<T>(name: string, fn: () => Promise<T>, verify: (r: T, ms: number) => void): Promise<void> {
  const m = await measured(s.url, s.proc.pid!, fn);
  console.log(`# hostile | ${name} | ${m.ms.toFixed(0)} ms | +${m.rssMb.toFixed(0)} MiB RSS | ping max ${m.ping.maxMs.toFixed(0)} ms`);
  verify(m.result, m.ms);
  assert.equal(s.proc.exitCode, null, 'the server is alive');
  assert.ok(m.ping.maxMs < PING_MAX_MS, `/ping took ${m.ping.maxMs.toFixed(0)} ms`);
  assert.equal(m.ping.failed, 0);
  assert.ok(m.rssMb < RSS_MAX_MB, `server RSS grew ${m.rssMb.toFixed(0)} MiB`);
  const r = await postJson(`${s.url}/rerank`, JSON.parse(OK_BODY));
  assert.equal(r.status, 200, r.text);
}

function jsonError(r: RawResult, status: number, type: string, msg: RegExp): void {
  const p = parseRaw(r.text);
  assert.equal(p.status, status, r.text.slice(0, 300));
  assert.equal(p.json?.error_type, type, r.text.slice(0, 300));
  assert.match(p.json.error, msg);
}

describe('hostile connections: bodies, timeouts, protocol', () => {
  before(async () => {
    s = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }), ...ENV } });
  });
  after(async () => {
    await s?.stop();
  });

  it('F7 Content-Length: 1,000,000,000 and no body: 413 at once, socket closed soon after', () =>
    check('F7 declared 1 GB, no body', () => rawHttp(s.port, [head('POST', '/rerank', { host: 'x', 'content-type': 'application/json', 'content-length': 1e9 })], { waitMs: 8000 }), (r, ms) => {
      jsonError(r, 413, 'PayloadTooLarge', /6 MiB limit/);
      assert.ok(r.closed && ms < 6000, `socket closed: ${r.closed}, after ${ms.toFixed(0)} ms`);
    }));

  it('F7 Expect: 100-continue with 7 MB declared: 413, never 100 Continue', () =>
    check('F7 Expect 100-continue, 7 MB', () => rawHttp(s.port, [head('POST', '/invocations', { host: 'x', 'content-type': 'application/json', 'content-length': 7 * 1024 * 1024, expect: '100-continue' })], { waitMs: 5000, stopWhen: /\r\n\r\n\{.*\}$/s }), (r) => {
      assert.doesNotMatch(r.text, /100 Continue/);
      jsonError(r, 413, 'PayloadTooLarge', /limit/);
    }));

  it('F7 Expect: 100-continue with a small body: 100, then the answer', () =>
    check('F7 Expect 100-continue, small', () => rawHttp(s.port, [head('POST', '/rerank', { host: 'x', 'content-type': 'application/json', 'content-length': Buffer.byteLength(OK_BODY), expect: '100-continue' }), 200, OK_BODY], { waitMs: 5000, stopWhen: /\]$/ }), (r) => {
      const p = parseRaw(r.text);
      assert.deepEqual(p.statuses, [100, 200], r.text.slice(0, 300));
    }));

  it('F7 a body that stops arriving is cut at BODY_TIMEOUT with a 408', () =>
    check('F7 stalled body', () => rawHttp(s.port, [head('POST', '/rerank', { host: 'x', 'content-type': 'application/json', 'content-length': 100_000 }), '{"query": "'], { waitMs: 10_000 }), (r, ms) => {
      assert.ok(r.closed, 'closed');
      assert.ok(ms < 5000, `closed after ${ms.toFixed(0)} ms (BODY_TIMEOUT=2)`);
      assert.match(r.text, /HTTP\/1\.1 408/);
    }));

  it('F10 headers that never finish are cut at HEADERS_TIMEOUT while other traffic flows', () =>
    check('F10 stalled headers', () => rawHttp(s.port, ['POST /rerank HTTP/1.1\r\nHost: x\r\n', 300, 'X-A: 1\r\n'], { waitMs: 10_000 }), (r, ms) => {
      assert.ok(r.closed && ms < 4000, `closed: ${r.closed} after ${ms.toFixed(0)} ms (HEADERS_TIMEOUT=1)`);
    }));

  it('F7 bodies being received share MAX_BODY_MEMORY_MB: past it a new body gets 429, memory stays bounded', () =>
    check(
      'F7 30 slow 5.9 MiB bodies at once',
      async () => {
        const MiB = 1024 * 1024;
        const chunk = Buffer.alloc(MiB, 0x20);
        const socks = Array.from({ length: 30 }, (_, i) =>
          rawHttp(s.port, [head('POST', '/rerank', { host: 'x', 'content-type': 'application/json', 'content-length': Math.floor(5.9 * MiB) }), i * 20, chunk, 300, chunk, 300, chunk, 300, chunk, 300, chunk], { waitMs: 12_000 }),
        );
        return Promise.all(socks);
      },
      (rs) => {
        const statuses = rs.map((r) => parseRaw(r.text).status);
        assert.ok(statuses.some((x) => x === 429), `statuses: ${statuses.join(',')}`);
        assert.ok(rs.every((r) => r.closed), 'every slow socket was closed');
        const refused = rs.find((r) => parseRaw(r.text).status === 429)!;
        assert.match(parseRaw(refused.text).json.error, /MAX_BODY_MEMORY_MB=8/);
      },
    ));

  it('F10 HTTP/1.1 without Host: a 400 with a JSON body', () =>
    check('F10 no Host', () => rawHttp(s.port, [`GET /ping HTTP/1.1\r\n\r\n`], { waitMs: 3000 }), (r) => jsonError(r, 400, 'Protocol', /Host/)));

  it('F10 Expect: 200-ok: a 417 with a JSON body', () =>
    check('F10 Expect 200-ok', () => rawHttp(s.port, [head('POST', '/rerank', { host: 'x', 'content-type': 'application/json', 'content-length': 2, expect: '200-ok' }), '{}'], { waitMs: 3000 }), (r) => jsonError(r, 417, 'Protocol', /100-continue/)));

  it('F10 CONNECT: a 405 with a JSON body', () =>
    check('F10 CONNECT', () => rawHttp(s.port, ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'], { waitMs: 3000 }), (r) => jsonError(r, 405, 'Protocol', /not a proxy/)));

  it('F5 an answer over MAX_RESPONSE_MB is a 422 naming it', () =>
    check('F5 answer budget', () => postJson(`${s.url}/invocations`, '1\n'.repeat(1000), { 'content-type': 'application/jsonlines' }), (r) => {
      assert.equal(r.status, 422, r.text.slice(0, 300));
      assert.match(r.json.error, /MAX_RESPONSE_MB=0\.05/);
    }));

  it('F10 errors on /endpoints/NAME/invocations are logged with their own path', async () => {
    const r = await postJson(`${s.url}/endpoints/my-endpoint/invocations`, '{"inputs": 5}');
    assert.equal(r.status, 424);
    await new Promise((res) => setTimeout(res, 200));
    const line = s.logs.filter((l) => l.includes('"route":"/endpoints/:name/invocations"')).at(-1);
    assert.match(line ?? '', /"path":"\/endpoints\/my-endpoint\/invocations"/);
  });
});

describe('hostile signals', () => {
  const portOpen = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), resolve(true)));
      c.once('error', () => resolve(false));
    });

  it('F9 SIGUSR1 does not open the inspector; the server keeps serving', async () => {
    const srv = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }) } });
    try {
      const before = await portOpen(9229);
      srv.proc.kill('SIGUSR1');
      await new Promise((r) => setTimeout(r, 500));
      if (!before) assert.equal(await portOpen(9229), false, 'port 9229 opened after SIGUSR1');
      assert.ok(srv.logs.some((l) => /SIGUSR1 received and ignored/.test(l)));
      const r = await postJson(`${srv.url}/rerank`, JSON.parse(OK_BODY));
      assert.equal(r.status, 200);
    } finally {
      await srv.stop();
    }
  });

  it('F9 SIGHUP drains: the 40 requests in flight all get their answer, then exit 0', async () => {
    const srv = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }) } });
    const texts = Array.from({ length: 200 }, (_, i) => `document ${i} about capitals and rivers`);
    const inFlight = Array.from({ length: 40 }, () => postJson(`${srv.url}/rerank`, { query: QUERY, texts }).then((r) => r.status, () => 0));
    await new Promise((r) => setTimeout(r, 100));
    srv.proc.kill('SIGHUP');
    const statuses = await Promise.all(inFlight);
    assert.equal(await srv.exited, 0);
    assert.deepEqual(statuses.filter((x) => x !== 200 && x !== 503), [], `statuses: ${statuses.join(',')}`);
    assert.ok(statuses.filter((x) => x === 200).length >= 1);
    assert.ok(srv.logs.some((l) => /SIGHUP received/.test(l)));
  });

  it('F7 SIGTERM while a body arrives slowly: the drain does not wait for the sender', async () => {
    const srv = await startServer({ env: { DEMO_MODEL_DIR: await ensureModel({ preset: 'demo' }), BODY_TIMEOUT: '120' } });
    const slow = rawHttp(srv.port, [head('POST', '/rerank', { host: 'x', 'content-type': 'application/json', 'content-length': 1_000_000 }), '{"query": "', 60_000], { waitMs: 30_000 });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    srv.proc.kill('SIGTERM');
    assert.equal(await srv.exited, 0);
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `exit took ${ms.toFixed(0)} ms (SHUTDOWN_TIMEOUT is 25 s)`);
    const r = await slow;
    assert.ok(r.closed);
    if (r.text) assert.equal(parseRaw(r.text).status, 503, r.text);
  });
});
