/**
 * GET /openapi.json is generated from the schemas that validate requests. Checked both ways:
 * the document's paths are exactly the app's routes, and for every JSON route a body the
 * document calls valid (its example) gets 200 while bodies it calls invalid (a required field
 * missing, a field of the wrong type, an enum or minimum broken) get 422 from the server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig, settingsOf } from '../../src/config';
import { createApp } from '../../src/http/app';
import { REQUEST_SCHEMAS } from '../../src/http/openapi';
import { ServerState } from '../../src/http/state';
import { ensureModel } from '../helpers/models';
import { postJson, startServer, type TestServer } from '../helpers/server';

type Schema = { type?: string | string[]; anyOf?: Schema[]; enum?: unknown[]; minimum?: number; properties?: Record<string, Schema>; required?: string[]; $ref?: string };
type Doc = { openapi: string; paths: Record<string, Record<string, any>>; components: { schemas: Record<string, Schema> } };

/** [METHOD path] of every route the Express app registers, in OpenAPI's {param} form. */
function appRoutes(): string[] {
  const app = createApp({ config: settingsOf(loadConfig({})).http, state: new ServerState(), version: 'test' });
  const stack = (app as unknown as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } }).router.stack;
  return stack
    .filter((l) => l.route)
    .flatMap((l) => Object.keys(l.route!.methods).map((m) => `${m.toUpperCase()} ${l.route!.path.replace(/:(\w+)/g, '{$1}')}`))
    .sort();
}

function typesOf(s: Schema): string[] | undefined {
  if (s.type) return Array.isArray(s.type) ? s.type : [s.type];
  if (!s.anyOf) return undefined;
  const parts = s.anyOf.map(typesOf);
  return parts.some((p) => p === undefined) ? undefined : parts.flat() as string[];
}

/** A value whose JSON type the schema does not allow (integer allows no fractions). */
function wrongValue(s: Schema): unknown {
  const allowed = typesOf(s);
  if (!allowed) return undefined;
  const candidates: Array<[string, unknown]> = [['number', 1.5], ['string', 'x'], ['boolean', true], ['object', {}], ['array', []]];
  return candidates.find(([t]) => !allowed.includes(t))?.[1];
}

function enumOf(s: Schema): unknown[] | undefined {
  return s.enum ?? s.anyOf?.find((b) => b.enum)?.enum;
}

function minimumOf(s: Schema): number | undefined {
  return s.minimum ?? s.anyOf?.find((b) => b.minimum !== undefined)?.minimum;
}

describe('OpenAPI document (demo model)', () => {
  let s: TestServer;
  let doc: Doc;
  before(async () => {
    const dir = await ensureModel({ preset: 'demo' });
    s = await startServer({ env: { DEMO_MODEL_DIR: dir } });
    const r = await fetch(`${s.url}/openapi.json`);
    assert.equal(r.status, 200);
    doc = (await r.json()) as Doc;
  });
  after(async () => {
    await s?.stop();
  });

  it('is OpenAPI 3.1 and its paths are exactly the app\'s routes', () => {
    assert.equal(doc.openapi, '3.1.0');
    const documented = Object.entries(doc.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort();
    assert.deepEqual(documented, appRoutes());
    for (const name of ['Error', 'TeiRerankRequest', 'CohereV1RerankRequest', 'CohereV2RerankRequest', 'HfPairsRequest', 'TeiPredictRequest']) {
      assert.ok(doc.components.schemas[name], name);
      assert.equal((doc.components.schemas[name] as Record<string, unknown>).$schema, undefined);
    }
  });

  it('every documented GET answers 200, every JSON POST answers its example with 200', async () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      const url = `${s.url}${path.replace('{name}', 'local-endpoint')}`;
      if (ops.get) assert.equal((await fetch(url)).status, 200, `GET ${path}`);
      const example = ops.post?.requestBody?.content?.['application/json']?.example;
      if (ops.post && path !== '/ping') {
        assert.ok(example, `POST ${path} has an example`);
        const r = await postJson(url, example);
        assert.equal(r.status, 200, `POST ${path}: ${r.text}`);
      }
    }
  });

  it('/invocations documents every dialect\'s request schema and the dialect rule', () => {
    for (const path of ['/invocations', '/endpoints/{name}/invocations']) {
      const op = doc.paths[path]!.post;
      const refs = (op.requestBody.content['application/json'].schema.oneOf as Schema[]).map((x) => x.$ref);
      assert.deepEqual(refs.sort(), ['CohereV1RerankRequest', 'HfPairsRequest', 'MultiRerankRequest', 'TeiPredictRequest', 'TeiRerankRequest'].map((n) => `#/components/schemas/${n}`));
      assert.match(op.description, /TEI rerank.*Cohere \/ Jina rerank.*many queries.*Hugging Face toolkit pairs.*TEI predict/);
      assert.ok(op.requestBody.content['application/jsonlines'] && op.requestBody.content['text/csv']);
    }
  });

  it('documents the extensions: min_score, document ids, many queries, the bearer scheme, cache bypass', () => {
    const schemas = doc.components.schemas as Record<string, { properties?: Record<string, unknown> }>;
    for (const c of ['TeiRerankRequest', 'CohereV1RerankRequest', 'CohereV2RerankRequest', 'MultiRerankRequest']) assert.ok(schemas[c]!.properties!.min_score, `${c}.min_score`);
    assert.ok(schemas.MultiRerankRequest!.properties!.queries);
    assert.match(JSON.stringify(schemas.CohereV1RerankRequest), /"id":\{/, 'object documents have an id');
    assert.ok(doc.paths['/rerank/multi']!.post);
    const components = doc.components as unknown as { securitySchemes: Record<string, { scheme: string }> };
    assert.equal(components.securitySchemes.bearerAuth!.scheme, 'bearer');
    const rerank = doc.paths['/rerank']!.post as unknown as { parameters: Array<{ name: string }>; responses: Record<string, unknown> };
    assert.ok(rerank.parameters.some((p) => p.name === 'Cache-Control'));
    assert.ok(rerank.responses['401']);
    assert.deepEqual((doc.paths['/ping'] as unknown as { get: { security: unknown[] } }).get.security, [], '/ping needs no key');
  });

  it('bodies the document calls invalid get 422 on every JSON route', async () => {
    let checked = 0;
    for (const [path, component] of Object.entries(REQUEST_SCHEMAS)) {
      const op = doc.paths[path]!.post;
      const media = op.requestBody.content['application/json'];
      assert.equal(media.schema.$ref, `#/components/schemas/${component}`, `${path} validates with ${component}`);
      const schema = doc.components.schemas[component]!;
      const example = media.example as Record<string, unknown>;
      const expect422 = async (body: unknown, why: string): Promise<void> => {
        const r = await postJson(`${s.url}${path}`, body);
        assert.equal(r.status, 422, `${path} ${why}: ${r.status} ${r.text}`);
        assert.equal(r.json.error_type, 'Validation');
        checked++;
      };
      for (const field of schema.required ?? []) {
        const { [field]: _dropped, ...rest } = example;
        await expect422(rest, `without required ${field}`);
      }
      for (const [field, prop] of Object.entries(schema.properties ?? {})) {
        const wrong = wrongValue(prop);
        if (wrong !== undefined) await expect422({ ...example, [field]: wrong }, `${field}=${JSON.stringify(wrong)}`);
        const values = enumOf(prop);
        if (values) await expect422({ ...example, [field]: 'not-one-of-the-enum' }, `${field} outside its enum`);
        const min = minimumOf(prop);
        if (min !== undefined) await expect422({ ...example, [field]: min - 1 }, `${field} below its minimum ${min}`);
      }
    }
    assert.ok(checked > 40, `checked ${checked} invalid bodies`);
  });
});
