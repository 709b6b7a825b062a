import type { KvCache } from '../decoder.js';
import { SmolVLMError } from '../errors.js';

/** Where one image's features sit in a token sequence, and which image it was. */
export interface ImageSpan {
  start: number;
  end: number;
  key: string;
}

/**
 * What the decoder has already seen in a conversation: the token ids, the images at their positions,
 * and the KV cache for them. A request whose prompt starts with the same tokens and images only
 * prefills what it adds.
 */
export class PromptCache {
  ids: number[] = [];
  imageSpans: ImageSpan[] = [];
  kv: KvCache | undefined;

  get length(): number {
    return this.kv?.length ?? 0;
  }

  /** How many leading positions of `ids` (with images at `spans`) the cache holds already. */
  reusablePrefix(ids: readonly number[], spans: readonly ImageSpan[]): number {
    if (!this.kv) return 0;
    const limit = Math.min(this.kv.length, ids.length);
    let prefix = 0;
    while (prefix < limit && this.ids[prefix] === ids[prefix]) prefix++;
    for (const span of this.imageSpans) {
      if (span.start >= prefix) break;
      const same = spans.find((s) => s.start === span.start);
      if (!same || same.key !== span.key || same.end !== span.end) {
        prefix = span.start;
        break;
      }
    }
    return prefix;
  }

  clear(): void {
    this.ids = [];
    this.imageSpans = [];
    this.kv = undefined;
  }
}

/** Image-token runs of `ids`, one per image (in order, each `tileCount * imageSeqLen` tokens), checked against the images. */
export function findImageSpans(
  ids: readonly number[],
  images: readonly { readonly key: string; readonly tileCount: number }[],
  imageTokenId: number,
  imageSeqLen: number,
): ImageSpan[] {
  const positions: number[] = [];
  for (let i = 0; i < ids.length; i++) if (ids[i] === imageTokenId) positions.push(i);
  const expected = images.reduce((n, i) => n + i.tileCount * imageSeqLen, 0);
  if (positions.length !== expected) {
    throw new SmolVLMError('PROMPT_INVALID', `the prompt has ${positions.length} image tokens but the images need ${expected}`);
  }
  const spans: ImageSpan[] = [];
  let next = 0;
  for (const image of images) {
    const count = image.tileCount * imageSeqLen;
    spans.push({ start: positions[next]!, end: positions[next + count - 1]! + 1, key: image.key });
    next += count;
  }
  return spans;
}
