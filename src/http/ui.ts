/**
 * The pages a person opens in a browser (UI=true): a playground at `/` (ui/playground.*: type a
 * query and documents, see the ranking, the decided spec and the latency) and the interactive API
 * reference at `/docs`, Swagger UI rendering /openapi.json, served from node_modules/swagger-ui-dist
 * because containers often have no internet (no CDN). Only the named files are served, each with a
 * Content-Security-Policy that allows nothing from elsewhere.
 */
import path from 'node:path';
import express, { type Response } from 'express';

/** ui/ beside dist/ (dist/src/http/ui.js -> ../../../ui), as in the container image. */
const UI_DIR = path.resolve(__dirname, '..', '..', '..', 'ui');
const SWAGGER_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));

/** Swagger UI sets inline styles and shows images as data: URLs; scripts come only from here. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** URL path -> file. Every page, script and stylesheet of the UI, and nothing else. */
const FILES: ReadonlyArray<readonly [string, string]> = [
  ['/', path.join(UI_DIR, 'playground.html')],
  ['/ui/playground.js', path.join(UI_DIR, 'playground.js')],
  ['/ui/ui.css', path.join(UI_DIR, 'ui.css')],
  ['/docs', path.join(UI_DIR, 'docs.html')],
  ['/ui/docs.js', path.join(UI_DIR, 'docs.js')],
  ['/docs/swagger-ui.css', path.join(SWAGGER_DIR, 'swagger-ui.css')],
  ['/docs/swagger-ui-bundle.js', path.join(SWAGGER_DIR, 'swagger-ui-bundle.js')],
  ['/docs/favicon-32x32.png', path.join(SWAGGER_DIR, 'favicon-32x32.png')],
];

/** Paths the UI serves: public even with API_KEY (they hold no data; their API calls carry the key). */
export const UI_PATHS: ReadonlySet<string> = new Set([...FILES.map(([p]) => p), '/docs/']);

function send(res: Response, file: string): void {
  res.setHeader('content-security-policy', CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('cache-control', 'no-cache');
  res.sendFile(file);
}

export function uiRouter(): express.Router {
  const router = express.Router({ strict: true });
  for (const [url, file] of FILES) router.get(url, (_req, res) => send(res, file));
  router.get('/docs/', (_req, res) => res.redirect(301, '/docs'));
  return router;
}
