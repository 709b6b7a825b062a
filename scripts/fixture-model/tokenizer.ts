/**
 * A small synthetic byte-level BPE tokenizer in the style of the SmolVLM one (Digits + ByteLevel
 * pre-tokenizer, ByteLevel decoder, no normalizer or post-processor): merges are learned from a
 * short built-in corpus; for large vocabularies the rest of the BPE vocab is filler words (never
 * produced by encoding, but every id decodes). Special-token ids follow the real layout.
 */
import { CORPUS } from './corpus.js';

export interface TokenLayout {
  endOfText: number;
  imStart: number;
  imEnd: number;
  /** Number of ids in the BPE model vocab (ids 0..bpeSize-1, the first 3 being special). */
  bpeSize: number;
  globalImg: number;
  /** `<row_r_col_c>` = rowCol + 6 (r - 1) + (c - 1). */
  rowCol: number;
  fakeTokenAroundImage: number;
  image: number;
  reservedStart: number;
  reservedCount: number;
  endOfUtterance: number;
  vocabSize: number;
}

const ADDED_FIXED = 1 + 36 + 1 + 1 + 1;
const BASE_SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

export function tokenLayout(vocabSize: number, reservedCount: number): TokenLayout {
  const bpeSize = vocabSize - ADDED_FIXED - reservedCount;
  if (bpeSize < BASE_SPECIALS.length + 256) {
    throw new Error(`vocab size ${vocabSize} leaves ${bpeSize} BPE ids; at least ${BASE_SPECIALS.length + 256} are needed`);
  }
  return {
    endOfText: 0,
    imStart: 1,
    imEnd: 2,
    bpeSize,
    globalImg: bpeSize,
    rowCol: bpeSize + 1,
    fakeTokenAroundImage: bpeSize + 37,
    image: bpeSize + 38,
    reservedStart: bpeSize + 39,
    reservedCount,
    endOfUtterance: vocabSize - 1,
    vocabSize,
  };
}

/** The added tokens (id, content) in id order. */
export function addedTokens(layout: TokenLayout): [number, string][] {
  const out: [number, string][] = BASE_SPECIALS.map((t, i) => [i, t]);
  out.push([layout.globalImg, '<global-img>']);
  for (let r = 1; r <= 6; r++) {
    for (let c = 1; c <= 6; c++) out.push([layout.rowCol + 6 * (r - 1) + (c - 1), `<row_${r}_col_${c}>`]);
  }
  out.push([layout.fakeTokenAroundImage, '<fake_token_around_image>'], [layout.image, '<image>']);
  for (let i = 0; i < layout.reservedCount; i++) out.push([layout.reservedStart + i, `<|reserved_special_token_${i}|>`]);
  out.push([layout.endOfUtterance, '<end_of_utterance>']);
  return out;
}

/** GPT-2 byte -> printable character table used by ByteLevel. */
export function byteToUnicode(): string[] {
  const table: string[] = new Array<string>(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
  return table;
}

const PRE_TOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Learns up to `maxMerges` merges (pairs seen at least twice) from `text`. */
export function learnMerges(text: string, maxMerges: number): [string, string][] {
  const chars = byteToUnicode();
  const encoder = new TextEncoder();
  const counts = new Map<string, number>();
  // Paragraphs are pre-tokenized apart, each ending in "\n\n", the way a prompt's "\n\n" before an
  // added token becomes one piece (and so one token, as in the real tokenizer).
  for (const paragraph of text.split('\n\n')) {
    for (const piece of `${paragraph}\n\n`.match(PRE_TOKENIZE) ?? []) {
      if (/\p{N}/u.test(piece)) continue; // digits are split one by one before BPE
      const word = Array.from(encoder.encode(piece), (b) => chars[b]!).join('\u0000');
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  const words = [...counts.entries()].map(([w, n]) => ({ symbols: w.split('\u0000'), n }));
  const merges: [string, string][] = [];
  while (merges.length < maxMerges) {
    const pairs = new Map<string, number>();
    for (const { symbols, n } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]}\u0000${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    }
    let best: string | null = null;
    let bestCount = 1;
    for (const [key, n] of pairs) {
      if (n > bestCount || (n === bestCount && best !== null && key < best)) {
        best = key;
        bestCount = n;
      }
    }
    if (best === null) break;
    const [a, b] = best.split('\u0000') as [string, string];
    merges.push([a, b]);
    for (const word of words) {
      const s = word.symbols;
      const merged: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else {
          merged.push(s[i]!);
        }
      }
      word.symbols = merged;
    }
  }
  return merges;
}

const SYLLABLES = 'ba be bi bo bu da de di do du fa fe fi fo ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo za ze zi'.split(' ');

/** Deterministic filler words (" kabe", " kabeti", ...) in byte-level form. */
function* fillerWords(): Generator<string> {
  const n = SYLLABLES.length;
  for (let len = 2; ; len++) {
    const total = n ** len;
    for (let i = 0; i < total; i++) {
      let word = '';
      for (let k = 0, x = i; k < len; k++, x = Math.floor(x / n)) word += SYLLABLES[x % n];
      yield `\u0120${word}`;
    }
  }
}

export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  vocab: Map<string, number>;
}

export function buildTokenizerJson(layout: TokenLayout): TokenizerFiles {
  const vocab = new Map<string, number>();
  BASE_SPECIALS.forEach((t, i) => vocab.set(t, i));
  for (const ch of byteToUnicode()) vocab.set(ch, vocab.size);
  const merges = learnMerges(CORPUS, layout.bpeSize - vocab.size);
  for (const [a, b] of merges) vocab.set(a + b, vocab.size);
  const filler = fillerWords();
  while (vocab.size < layout.bpeSize) {
    const word = filler.next().value as string;
    if (!vocab.has(word)) vocab.set(word, vocab.size);
  }

  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(layout).map(([id, content]) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Digits', individual_digits: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
  return { tokenizerJson, vocab };
}

export function buildTokenizerConfig(layout: TokenLayout, chatTemplate: string): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  for (const [id, content] of addedTokens(layout)) {
    decoder[String(id)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  }
  return {
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    additional_special_tokens: ['<fake_token_around_image>', '<image>', '<end_of_utterance>'],
    bos_token: '<|im_start|>',
    chat_template: chatTemplate,
    clean_up_tokenization_spaces: false,
    eos_token: '<end_of_utterance>',
    legacy: false,
    model_max_length: 8192,
    pad_token: '<|im_end|>',
    processor_class: 'Idefics3Processor',
    tokenizer_class: 'GPT2Tokenizer',
    truncation_side: 'left',
    unk_token: '<|endoftext|>',
    vocab_size: layout.vocabSize,
  };
}

export function buildSpecialTokensMap(): Record<string, unknown> {
  const token = (content: string) => ({ content, lstrip: false, normalized: false, rstrip: false, single_word: false });
  return {
    additional_special_tokens: ['<fake_token_around_image>', '<image>', '<end_of_utterance>'].map(token),
    bos_token: token('<|im_start|>'),
    eos_token: token('<|im_end|>'),
    pad_token: token('<|im_end|>'),
    unk_token: token('<|endoftext|>'),
  };
}

/** `added_tokens.json`: the added tokens above the BPE vocab, keys sorted like the real file. */
export function buildAddedTokensJson(layout: TokenLayout): Record<string, number> {
  const entries = addedTokens(layout).filter(([id]) => id >= layout.bpeSize);
  entries.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return Object.fromEntries(entries.map(([id, content]) => [content, id]));
}
