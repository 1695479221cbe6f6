/**
 * The route table: every API route the app registers, once. app.ts registers exactly these (a
 * handler per route and method, checked by the compiler), openapi.ts documents exactly these, and
 * requestLifecycle.ts takes its metric route names and its quiet routes from here. The UI's pages
 * are not API routes: ui.ts lists them.
 */
export const ROUTES = {
  '/ping': { methods: ['get', 'post'], quiet: true },
  '/health': { methods: ['get'], quiet: true },
  '/info': { methods: ['get'], quiet: false },
  '/metrics': { methods: ['get'], quiet: true },
  '/execution-parameters': { methods: ['get'], quiet: false },
  '/openapi.json': { methods: ['get'], quiet: false },
  '/rerank': { methods: ['post'], quiet: false },
  '/predict': { methods: ['post'], quiet: false },
  '/v1/rerank': { methods: ['post'], quiet: false },
  '/v2/rerank': { methods: ['post'], quiet: false },
  '/rerank/multi': { methods: ['post'], quiet: false },
  '/invocations': { methods: ['post'], quiet: false },
  '/endpoints/:name/invocations': { methods: ['post'], quiet: false },
} as const satisfies Record<string, { readonly methods: ReadonlyArray<'get' | 'post'>; readonly quiet: boolean }>;

export type RoutePath = keyof typeof ROUTES;
/** One operation per method a route answers: `{ get: X }`, `{ post: X }` or both, exactly. */
export type PerMethod<P extends RoutePath, X> = { readonly [M in (typeof ROUTES)[P]['methods'][number]]: X };

export const ROUTE_PATHS = Object.keys(ROUTES) as RoutePath[];

/** Routes that are not scoring requests: not counted in flight, logged only when they fail with a 5xx. */
export const QUIET_PATHS: ReadonlySet<string> = new Set(ROUTE_PATHS.filter((p) => ROUTES[p].quiet));

/** The OpenAPI spelling of a route's path: ':name' becomes '{name}'. */
export const openApiPath = (p: string): string => p.replace(/:(\w+)/g, '{$1}');

/** The route a raw path belongs to (':name' matches one segment), for requests that failed before routing. */
export function routeOfPath(path: string): RoutePath | undefined {
  if (Object.hasOwn(ROUTES, path)) return path as RoutePath;
  return ROUTE_PATHS.find((p) => p.includes(':') && new RegExp(`^${p.replace(/:\w+/g, '[^/]+')}$`).test(path));
}
