/**
 * The route table (src/http/routes.ts) and the error table (src/errors.ts) are each written once:
 * the app registers exactly the table's routes, the OpenAPI document documents exactly them, and
 * the document's error statuses and error types come from the error table.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, settingsOf } from '../../src/config';
import { ERROR_TYPES, STATUS_BY_TYPE } from '../../src/errors';
import { createApp } from '../../src/http/app';
import { openApiDocument } from '../../src/http/openapi';
import { failureReason } from '../../src/http/requestOutcome';
import { openApiPath, QUIET_PATHS, ROUTES, ROUTE_PATHS, routeOfPath } from '../../src/http/routes';
import { ServerState } from '../../src/http/state';

type Layer = { route?: { path: string; methods: Record<string, boolean> } };

/** [METHOD path] of every route the Express app registers (the UI router's pages are not API routes). */
function registered(ui: boolean): string[] {
  const app = createApp({ config: settingsOf(loadConfig({ UI: ui ? 'true' : 'false' })).http, state: new ServerState(), version: 'test' });
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  return stack.filter((l) => l.route).flatMap((l) => Object.keys(l.route!.methods).map((m) => `${m.toUpperCase()} ${l.route!.path}`)).sort();
}

const table = (): string[] => ROUTE_PATHS.flatMap((p) => ROUTES[p].methods.map((m) => `${m.toUpperCase()} ${p}`)).sort();

test('the app registers exactly the routes of the route table, with or without the UI', () => {
  assert.deepEqual(registered(false), table());
  assert.deepEqual(registered(true), table());
});

test('the OpenAPI document has exactly the route table\'s paths and methods', () => {
  const doc = openApiDocument('test') as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
  assert.deepEqual(documented, table().map((r) => openApiPath(r)).sort());
  assert.ok(doc.paths['/endpoints/{name}/invocations'], 'path parameters in OpenAPI\'s {name} form');
});

test('a path that failed before routing gets its route\'s name, never the path a client sent', () => {
  assert.equal(routeOfPath('/rerank'), '/rerank');
  assert.equal(routeOfPath('/endpoints/my-endpoint/invocations'), '/endpoints/:name/invocations');
  assert.equal(routeOfPath('/endpoints/a/b/invocations'), undefined);
  assert.equal(routeOfPath('/rerank/other'), undefined);
  assert.equal(routeOfPath('/constructor'), undefined);
  assert.deepEqual([...QUIET_PATHS].sort(), ['/health', '/metrics', '/ping']);
});

test('the document\'s error types and statuses come from the error table', () => {
  const doc = openApiDocument('test') as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { schemas: Record<string, { properties: { error_type: { enum: string[] } }; description: string }> } };
  const error = doc.components.schemas.Error!;
  assert.deepEqual([...error.properties.error_type.enum].sort(), [...ERROR_TYPES].sort());
  for (const t of ERROR_TYPES) assert.match(error.description, new RegExp(`${STATUS_BY_TYPE[t]} [A-Za-z/]*\\b${t}\\b`), t);
  const rerankErrors = Object.keys(doc.paths['/rerank']!.post!.responses).filter((s) => s !== '200').map(Number);
  assert.deepEqual(rerankErrors, [400, 401, 413, 415, 422, 424, 429, 503, 504]);
});

test('a status answered without an error type counts as the error types that answer with it', () => {
  for (const t of ERROR_TYPES) {
    assert.equal(failureReason({ finished: true, status: STATUS_BY_TYPE[t] }), failureReason({ finished: true, status: STATUS_BY_TYPE[t], errorType: t }), t);
  }
});
