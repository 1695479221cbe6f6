/**
 * The record handling of a SageMaker batch transform job, as pure functions for local-transform:
 * SplitType=Line records, the JSONPath subset DataProcessing uses (InputFilter, OutputFilter),
 * MultiRecord mini-batches that stay under MaxPayloadInMB, and JoinSource=Input (each answer added
 * to its input record as SageMakerOutput), so a job can be tried on a sample before paying for it.
 */
import { UsageError } from './cliArgs';

/** SplitType=Line: one record per non-empty line (a trailing newline or blank line is no record). */
export function splitRecords(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

type Step = { readonly keys: readonly string[] } | { readonly indices: readonly number[] } | { readonly slice: readonly [number | undefined, number | undefined] };

/**
 * JSONPath as DataProcessing uses it: `$`, `$.a.b`, `$['a','b']` / `$["a"]`, `$[0]`, `$[0,2]`,
 * `$[1:]`, `$[:-1]`. Several keys give an object with those keys, several indices an array.
 */
export function compileJsonPath(path: string, flag: string): (v: unknown) => unknown {
  const p = path.trim();
  if (!p.startsWith('$')) throw new UsageError(`${flag} must start with $, got ${JSON.stringify(path)}`);
  const steps: Step[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_-]*)|\[\s*((?:'[^']*'|"[^"]*")(?:\s*,\s*(?:'[^']*'|"[^"]*"))*)\s*\]|\[\s*(-?\d+(?:\s*,\s*-?\d+)*)\s*\]|\[\s*(-?\d*)\s*:\s*(-?\d*)\s*\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < p.length) {
    const m = re.exec(p);
    if (!m) throw new UsageError(`${flag}: unsupported JSONPath ${JSON.stringify(path)} at ${JSON.stringify(p.slice(re.lastIndex))} (use $, $.key, $['a','b'], $[0], $[1:])`);
    if (m[1] !== undefined) steps.push({ keys: [m[1]] });
    else if (m[2] !== undefined) steps.push({ keys: [...m[2].matchAll(/'([^']*)'|"([^"]*)"/g)].map((k) => k[1] ?? k[2]!) });
    else if (m[3] !== undefined) steps.push({ indices: m[3].split(',').map((x) => Number(x.trim())) });
    else steps.push({ slice: [m[4] ? Number(m[4]) : undefined, m[5] ? Number(m[5]) : undefined] });
  }
  return (value: unknown) => {
    let v = value;
    for (const s of steps) {
      if ('keys' in s) {
        const o = (v ?? {}) as Record<string, unknown>;
        v = s.keys.length === 1 ? o[s.keys[0]!] : Object.fromEntries(s.keys.filter((k) => k in o).map((k) => [k, o[k]]));
      } else {
        const a = Array.isArray(v) ? v : [];
        if ('indices' in s) v = s.indices.length === 1 ? a.at(s.indices[0]!) : s.indices.map((i) => a.at(i));
        else v = a.slice(s.slice[0], s.slice[1]);
      }
    }
    return v;
  };
}

/** InputFilter on one JSON Lines record; `$` (or none) keeps the line byte for byte. */
export function filterRecord(line: string, filter: ((v: unknown) => unknown) | undefined, where: string): string {
  if (!filter) return line;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error(`${where}: InputFilter needs JSON records, and this line is not JSON: ${line.slice(0, 80)}`);
  }
  return JSON.stringify(filter(v));
}

/**
 * MultiRecord: consecutive records joined by newlines, each mini-batch at most maxBytes (0: no
 * limit). A record that alone exceeds the limit fails the job, as it does on SageMaker.
 * SingleRecord: one record per request. Returns the records' indices per mini-batch.
 */
export function miniBatches(records: readonly string[], maxBytes: number, multiRecord: boolean, where: string): number[][] {
  const out: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  records.forEach((r, i) => {
    const size = Buffer.byteLength(r, 'utf8');
    if (maxBytes > 0 && size > maxBytes) throw new Error(`${where}: record ${i + 1} is ${size} bytes, above MaxPayloadInMB (${maxBytes} bytes)`);
    const added = current.length === 0 ? size : bytes + 1 + size;
    if (current.length > 0 && (!multiRecord || (maxBytes > 0 && added > maxBytes))) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    bytes = current.length === 0 ? size : bytes + 1 + size;
    current.push(i);
  });
  if (current.length) out.push(current);
  return out;
}

/** The response lines of one mini-batch, one per record (a trailing newline is not a record). */
export function responseLines(body: string, expected: number, where: string): string[] {
  const lines = body.replace(/\r?\n$/, '').split(/\r?\n/);
  if (lines.length !== expected) throw new Error(`${where}: ${expected} records sent, ${lines.length} lines answered (batch transform needs one line per record)`);
  return lines;
}

/**
 * JoinSource=Input then OutputFilter for JSON records: the answer goes into the input object as
 * SageMakerOutput (an input that is not an object goes under SageMakerInput beside it).
 */
export function joinRecord(input: string, output: string, join: boolean, outputFilter: ((v: unknown) => unknown) | undefined): string {
  if (!join && !outputFilter) return output;
  const out = parseOr(output);
  let joined: unknown = out;
  if (join) {
    const inp = parseOr(input);
    joined = inp !== null && typeof inp === 'object' && !Array.isArray(inp) ? { ...(inp as object), SageMakerOutput: out } : { SageMakerInput: inp, SageMakerOutput: out };
  }
  return JSON.stringify(outputFilter ? outputFilter(joined) : joined);
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
