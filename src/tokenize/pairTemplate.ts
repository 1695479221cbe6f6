/**
 * Reads how the tokenizer wraps one text or a pair in special tokens, from tokenizer.json's
 * `post_processor`, into a flat template the encoder fills in. Mirrors the Rust `tokenizers`
 * processors (processors/template.rs, bert.rs, roberta.rs, sequence.rs) so pair ids and type ids
 * match Hugging Face exactly.
 */
import { AppError } from '../errors';
import type { EncodedPair } from './types';

export type TemplatePiece =
  | { readonly kind: 'special'; readonly ids: readonly number[]; readonly typeId: number }
  | { readonly kind: 'sequence'; readonly seq: 0 | 1; readonly typeId: number };

export interface PairTemplate {
  readonly pair: readonly TemplatePiece[];
  readonly single: readonly TemplatePiece[];
  /** Special tokens the pair / single template adds (Rust's `added_tokens(is_pair)`). */
  readonly addedPair: number;
  readonly addedSingle: number;
  /** Where the template came from, for logs and /info. */
  readonly source: string;
  /** Set when the template was not read from a post_processor that adds special tokens. */
  readonly warning?: string;
}

type Json = Record<string, unknown>;
type TokenToId = (token: string) => number | undefined;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const special = (ids: number[], typeId: number): TemplatePiece => ({ kind: 'special', ids, typeId });
const seq = (s: 0 | 1, typeId: number): TemplatePiece => ({ kind: 'sequence', seq: s, typeId });

function finish(pair: TemplatePiece[], single: TemplatePiece[], source: string, warning?: string): PairTemplate {
  const added = (t: TemplatePiece[]): number => t.reduce((n, p) => n + (p.kind === 'special' ? p.ids.length : 0), 0);
  return Object.freeze({
    pair: Object.freeze(pair),
    single: Object.freeze(single),
    addedPair: added(pair),
    addedSingle: added(single),
    source,
    ...(warning !== undefined ? { warning } : {}),
  });
}

/** Rust's default for a pair with no special tokens: A then B, the second sequence typed 1. */
function plain(source: string, warning?: string): PairTemplate {
  return finish([seq(0, 0), seq(1, 1)], [seq(0, 0)], source, warning);
}

function bad(msg: string): AppError {
  return new AppError('Model', `tokenizer.json post_processor: ${msg}`);
}

/** `["[SEP]", 102]` as stored by BertProcessing / RobertaProcessing. */
function tokenPair(v: unknown, what: string): number {
  if (Array.isArray(v) && typeof v[1] === 'number') return v[1];
  throw bad(`${what} must be [token, id]`);
}

function templatePieces(items: unknown, specials: Json, which: string): TemplatePiece[] {
  if (!Array.isArray(items)) throw bad(`TemplateProcessing.${which} must be a list of pieces`);
  return items.map((item: unknown): TemplatePiece => {
    if (isObj(item) && isObj(item.SpecialToken)) {
      const name = String(item.SpecialToken.id);
      const def = specials[name];
      const ids = isObj(def) && Array.isArray(def.ids) ? def.ids : undefined;
      if (!ids || !ids.every((x): x is number => typeof x === 'number')) throw bad(`special token ${name} has no ids`);
      return special(ids, Number(item.SpecialToken.type_id ?? 0));
    }
    if (isObj(item) && isObj(item.Sequence)) {
      const id = item.Sequence.id;
      if (id !== 'A' && id !== 'B') throw bad(`unknown sequence ${String(id)}`);
      return seq(id === 'A' ? 0 : 1, Number(item.Sequence.type_id ?? 0));
    }
    throw bad(`unknown template piece ${JSON.stringify(item)}`);
  });
}

/** A processor that adds special tokens, or undefined for ones that only touch offsets. */
function fromProcessor(pp: Json): PairTemplate | undefined {
  switch (pp.type) {
    case 'TemplateProcessing': {
      const specials = isObj(pp.special_tokens) ? pp.special_tokens : {};
      const pair = templatePieces(pp.pair, specials, 'pair');
      const single = templatePieces(pp.single, specials, 'single');
      if (!pair.some((p) => p.kind === 'sequence' && p.seq === 1)) throw bad('pair template has no $B');
      return finish(pair, single, 'tokenizer.json post_processor TemplateProcessing');
    }
    case 'BertProcessing': {
      const cls = tokenPair(pp.cls, 'cls');
      const sep = tokenPair(pp.sep, 'sep');
      return finish(
        [special([cls], 0), seq(0, 0), special([sep], 0), seq(1, 1), special([sep], 1)],
        [special([cls], 0), seq(0, 0), special([sep], 0)],
        'tokenizer.json post_processor BertProcessing',
      );
    }
    case 'RobertaProcessing': {
      // Rust sets every type id to 0 for RoBERTa, the second sequence included.
      const cls = tokenPair(pp.cls, 'cls');
      const sep = tokenPair(pp.sep, 'sep');
      return finish(
        [special([cls], 0), seq(0, 0), special([sep], 0), special([sep], 0), seq(1, 0), special([sep], 0)],
        [special([cls], 0), seq(0, 0), special([sep], 0)],
        'tokenizer.json post_processor RobertaProcessing',
      );
    }
    case 'ByteLevel':
      return undefined;
    case 'Sequence': {
      const inner = (Array.isArray(pp.processors) ? pp.processors : []).filter(isObj).map(fromProcessor);
      const adding = inner.filter((t): t is PairTemplate => t !== undefined);
      // Chained special-token processors would wrap each other's output; no real tokenizer does it.
      if (adding.length > 1) throw bad('a Sequence with more than one special-token processor is not supported');
      const only = adding[0];
      return only && { ...only, source: `${only.source} (inside Sequence)` };
    }
    default:
      throw bad(`unsupported type ${String(pp.type)}`);
  }
}

/** tokenizer_config tokens may be a plain string or an AddedToken object `{content: ...}`. */
function configToken(config: Json | undefined, key: string): string | undefined {
  const v = config?.[key];
  if (typeof v === 'string') return v;
  if (isObj(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

/**
 * The pair template for a tokenizer. Without any post_processor the Rust library adds no special
 * tokens at all, which is almost always a broken export of a model trained with them, so we fall
 * back to BERT's layout (RoBERTa's when tokenizer_class says so) with tokenizer_config's cls/sep
 * tokens (else bos/eos), and say so in `warning`. With no such tokens either: Rust's plain A B.
 */
export function readPairTemplate(tokenizerJson: Json, tokenizerConfig: Json | undefined, tokenToId: TokenToId): PairTemplate {
  const pp = tokenizerJson.post_processor;
  if (isObj(pp)) {
    const t = fromProcessor(pp);
    if (t) return t;
    return plain(`tokenizer.json post_processor ${String(pp.type)} (adds no special tokens)`);
  }
  const clsTok = configToken(tokenizerConfig, 'cls_token') ?? configToken(tokenizerConfig, 'bos_token');
  const sepTok = configToken(tokenizerConfig, 'sep_token') ?? configToken(tokenizerConfig, 'eos_token');
  const cls = clsTok !== undefined ? tokenToId(clsTok) : undefined;
  const sep = sepTok !== undefined ? tokenToId(sepTok) : undefined;
  if (cls !== undefined && sep !== undefined) {
    const note = '(Hugging Face tokenizers would add no special tokens)';
    // The RoBERTa family's slow tokenizers double the separator; everything else is BERT-like.
    if (/roberta|camembert|longformer|bart/i.test(String(tokenizerConfig?.tokenizer_class ?? ''))) {
      return finish(
        [special([cls], 0), seq(0, 0), special([sep], 0), special([sep], 0), seq(1, 0), special([sep], 0)],
        [special([cls], 0), seq(0, 0), special([sep], 0)],
        `fallback: RoBERTa layout (tokenizer_class ${String(tokenizerConfig?.tokenizer_class)}) with ${clsTok} / ${sepTok}`,
        `tokenizer.json has no post_processor; using ${clsTok} A ${sepTok}${sepTok} B ${sepTok} from tokenizer_config.json ${note}`,
      );
    }
    return finish(
      [special([cls], 0), seq(0, 0), special([sep], 0), seq(1, 1), special([sep], 1)],
      [special([cls], 0), seq(0, 0), special([sep], 0)],
      `fallback: BERT layout with tokenizer_config ${clsTok} / ${sepTok}`,
      `tokenizer.json has no post_processor; using ${clsTok} A ${sepTok} B ${sepTok} from tokenizer_config.json ${note}`,
    );
  }
  return plain(
    'no post_processor',
    'tokenizer.json has no post_processor and tokenizer_config.json names no cls/sep tokens; pairs are encoded without special tokens',
  );
}

/** Lays the template out into fresh arrays. */
export function fillTemplate(pieces: readonly TemplatePiece[], a: Int32Array, b: Int32Array | undefined, truncated: boolean): EncodedPair {
  let len = 0;
  for (const p of pieces) len += p.kind === 'special' ? p.ids.length : p.seq === 0 ? a.length : (b?.length ?? 0);
  const ids = new Int32Array(len);
  const typeIds = new Uint8Array(len);
  let at = 0;
  for (const p of pieces) {
    if (p.kind === 'special') {
      ids.set(p.ids, at);
      typeIds.fill(p.typeId, at, at + p.ids.length);
      at += p.ids.length;
    } else {
      const s = p.seq === 0 ? a : b;
      if (!s) continue;
      ids.set(s, at);
      typeIds.fill(p.typeId, at, at + s.length);
      at += s.length;
    }
  }
  return { ids, typeIds, truncated };
}
