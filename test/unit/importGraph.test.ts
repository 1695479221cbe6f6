/**
 * No import loops in src/, between files (type-only imports included) or between folders: shared
 * shapes live in type-only modules (http/deps.ts, engine/scoreTypes.ts, batching/tensors.ts,
 * tokenize/tokenizerFiles.ts) so that dependencies point one way; bench/ and test/ share helpers
 * through scripts/dev/, never importing each other. Reads the TypeScript sources.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/paths';

const SRC = path.join(ROOT, 'src');

function importGraph(): Map<string, string[]> {
  const files = (fs.readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  const graph = new Map<string, string[]>();
  for (const rel of files) {
    const text = fs.readFileSync(path.join(SRC, rel), 'utf8');
    const deps = [...text.matchAll(/(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)]
      .map((m) => path.relative(SRC, path.resolve(path.dirname(path.join(SRC, rel)), m[1]!)) + '.ts')
      .filter((d) => files.includes(d));
    graph.set(rel, deps);
  }
  return graph;
}

/** Every loop, as the list of nodes on it (strongly connected components of more than one node). */
function loops(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

test('no file in src/ imports itself through others', () => {
  assert.deepEqual(loops(importGraph()), []);
});

test('folders of src/ depend on each other one way only', () => {
  const folder = (f: string): string | undefined => (f.includes('/') ? f.split('/')[0] : undefined);
  const folders = new Map<string, string[]>();
  for (const [f, deps] of importGraph()) {
    const a = folder(f);
    if (!a) continue;
    for (const d of deps) {
      const b = folder(d);
      if (b && b !== a && !(folders.get(a) ?? []).includes(b)) folders.set(a, [...(folders.get(a) ?? []), b]);
    }
  }
  assert.deepEqual(loops(folders), [], JSON.stringify(Object.fromEntries(folders)));
});

/** Relative imports of every .ts file under a top-level folder, resolved to repository paths. */
function importsUnder(folder: string): Array<[string, string]> {
  const dir = path.join(ROOT, folder);
  const out: Array<[string, string]> = [];
  for (const rel of (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'))) {
    const file = path.join(dir, rel);
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)) {
      out.push([path.relative(ROOT, file), path.relative(ROOT, path.resolve(path.dirname(file), m[1]!))]);
    }
  }
  return out;
}

test('benchmarks and tests do not import each other (shared helpers live in scripts/dev/)', () => {
  const crossing = [
    ...importsUnder('bench').filter(([, to]) => to.split(path.sep)[0] === 'test'),
    ...importsUnder('test').filter(([, to]) => to.split(path.sep)[0] === 'bench'),
  ];
  assert.ok(importsUnder('bench').some(([, to]) => to.startsWith(path.join('scripts', 'dev'))), 'bench/ reads its helpers from scripts/dev/');
  assert.deepEqual(crossing.map(([from, to]) => `${from} -> ${to}`), []);
});

test('scoring finishes in one place: only engine/reranker.ts applies the activation; MAX_CLIENT_BATCH_SIZE is enforced only at the HTTP edge', () => {
  const graph = importGraph();
  const importers = [...graph].filter(([, deps]) => deps.includes(path.join('engine', 'activation.ts'))).map(([f]) => f);
  assert.deepEqual(importers, [path.join('engine', 'reranker.ts')]);
  const files = (fs.readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  const refusing = files.filter((f) => fs.readFileSync(path.join(SRC, f), 'utf8').includes('more than MAX_CLIENT_BATCH_SIZE'));
  assert.deepEqual(refusing, [path.join('http', 'context.ts')]);
});

test('each part is given its own options: only config.ts names the whole Config, only the commands load it', () => {
  const files = (fs.readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && f !== 'config.ts');
  const text = (f: string): string => fs.readFileSync(path.join(SRC, f), 'utf8');
  const fromConfig = (f: string): string[] => [...text(f).matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'(?:\.\.?\/)+config'/g)].flatMap((m) => m[1]!.split(',').map((n) => n.replace(/^\s*type\s+/, '').trim()));
  assert.deepEqual(files.filter((f) => fromConfig(f).includes('Config')), []);
  assert.deepEqual(files.filter((f) => fromConfig(f).includes('loadConfig')).sort(), ['cli.ts', path.join('quantize', 'quantizeCommand.ts')].sort());
});
