// Per-token weights for the demo model: which vocabulary entries carry meaning for overlap.
// Special tokens, punctuation and stopwords get 0 so "[CLS] what is the ..." does not match every
// document; everything else (including ## word pieces) gets 1.

// The NLTK English stopword list plus a few question words, lower-cased as bert-base-uncased sees them.
export const STOPWORDS: readonly string[] = [
  'a', 'about', 'above', 'after', 'again', 'against', 'all', 'also', 'am', 'an', 'and', 'any', 'are',
  'as', 'at', 'be', 'because', 'been', 'before', 'being', 'below', 'between', 'both', 'but', 'by',
  'can', 'could', 'did', 'do', 'does', 'doing', 'down', 'during', 'each', 'few', 'for', 'from',
  'further', 'had', 'has', 'have', 'having', 'he', 'her', 'here', 'hers', 'herself', 'him', 'himself',
  'his', 'how', 'i', 'if', 'in', 'into', 'is', 'it', 'its', 'itself', 'just', 'me', 'might', 'more',
  'most', 'must', 'my', 'myself', 'no', 'nor', 'not', 'now', 'of', 'off', 'on', 'once', 'only', 'or',
  'other', 'our', 'ours', 'ourselves', 'out', 'over', 'own', 's', 'same', 'she', 'should', 'so', 'some',
  'such', 't', 'than', 'that', 'the', 'their', 'theirs', 'them', 'themselves', 'then', 'there', 'these',
  'they', 'this', 'those', 'through', 'to', 'too', 'under', 'until', 'up', 'very', 'was', 'we', 'were',
  'what', 'when', 'where', 'which', 'while', 'who', 'whom', 'why', 'will', 'with', 'would', 'you',
  'your', 'yours', 'yourself', 'yourselves', 'd', 'll', 'm', 're', 've', 'y', 'shall', 'may',
];

const SPECIAL = /^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/;
const HAS_WORD_CHAR = /[\p{L}\p{N}]/u;

/** vocab.txt lines in id order (line i is token id i). */
export function parseVocab(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.replace(/\r$/, ''));
}

export interface TokenWeightStats {
  weights: Float32Array;
  zeroed: { special: number; punctuation: number; stopwords: number };
}

export function tokenWeights(vocab: readonly string[]): TokenWeightStats {
  const stop = new Set(STOPWORDS);
  const weights = new Float32Array(vocab.length).fill(1);
  const zeroed = { special: 0, punctuation: 0, stopwords: 0 };
  vocab.forEach((token, id) => {
    if (SPECIAL.test(token)) zeroed.special++;
    else if (!HAS_WORD_CHAR.test(token)) zeroed.punctuation++;
    else if (stop.has(token)) zeroed.stopwords++;
    else return;
    weights[id] = 0;
  });
  return { weights, zeroed };
}
