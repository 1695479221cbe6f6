/**
 * Typed reads from parsed JSON. Model files come from anywhere (hand edits, old and new
 * transformers versions), so every field is checked for its type where it is read, and a field of
 * the wrong type reads as absent rather than crashing the spec.
 */
export type Json = Record<string, unknown>;

export function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function getRecord(obj: Json | undefined, key: string): Json | undefined {
  const v = obj?.[key];
  return isRecord(v) ? v : undefined;
}

export function getString(obj: Json | undefined, key: string): string | undefined {
  const v = obj?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** A finite number; numeric strings are not accepted (no real config stores them). */
export function getNumber(obj: Json | undefined, key: string): number | undefined {
  const v = obj?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function getInt(obj: Json | undefined, key: string): number | undefined {
  const v = getNumber(obj, key);
  return v !== undefined && Number.isInteger(v) ? v : undefined;
}

export function getStringArray(obj: Json | undefined, key: string): string[] | undefined {
  const v = obj?.[key];
  if (!Array.isArray(v)) return undefined;
  return v.filter((x): x is string => typeof x === 'string');
}

/**
 * A special token as stored by tokenizer_config.json / special_tokens_map.json: either the plain
 * string or an AddedToken object (`{"content": "<pad>", ...}`, older files add `__type`).
 */
export function getTokenContent(obj: Json | undefined, key: string): string | undefined {
  const v = obj?.[key];
  if (typeof v === 'string') return v;
  if (isRecord(v) && typeof v.content === 'string') return v.content;
  return undefined;
}
