import { checkSetting, settingSpec, type GenerationSettings } from '../settings.js';

/**
 * The settings the sampler uses, rows of the settings table (settings.ts), which holds their
 * names, ranges and help. A new sampling setting is a row there, its key here and its use below.
 */
export const SAMPLING_KEYS = ['temperature', 'topK', 'topP', 'minP', 'repetitionPenalty', 'seed'] as const;

export type SamplingOptions = Pick<GenerationSettings, (typeof SAMPLING_KEYS)[number]>;

/** Throws a USAGE SmolVLMError, naming `prefix` + the key, when a sampling setting breaks the table's rule. */
export function validateSampling(options: Readonly<Record<string, unknown>>, prefix = ''): void {
  for (const key of SAMPLING_KEYS) {
    const value = options[key];
    if (value !== undefined) checkSetting(settingSpec(key), value, `${prefix}${key}`);
  }
}

/** A small seeded PRNG (mulberry32): deterministic across platforms, floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function argmax(values: Float32Array): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  return best;
}

/** Picks next tokens from logits; keeps the state (RNG, penalised ids) of one generation. */
export class Sampler {
  readonly #options: Required<Omit<SamplingOptions, 'seed'>>;
  readonly #random: () => number;
  readonly #seen = new Set<number>();

  constructor(options: SamplingOptions = {}, history: Iterable<number> = []) {
    validateSampling(options);
    this.#options = {
      temperature: options.temperature ?? 0,
      topK: options.topK ?? 50,
      topP: options.topP ?? 1,
      minP: options.minP ?? 0,
      repetitionPenalty: options.repetitionPenalty ?? 1,
    };
    this.#random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    if (this.#options.repetitionPenalty !== 1) for (const id of history) this.#seen.add(id);
  }

  get greedy(): boolean {
    return this.#options.temperature === 0;
  }

  /** Chooses the next id; `logits` may be modified. */
  next(logits: Float32Array): number {
    this.#penalise(logits);
    const id = this.greedy ? argmax(logits) : this.#sample(logits);
    if (this.#options.repetitionPenalty !== 1) this.#seen.add(id);
    return id;
  }

  #penalise(logits: Float32Array): void {
    const penalty = this.#options.repetitionPenalty;
    if (penalty === 1) return;
    for (const id of this.#seen) {
      const v = logits[id];
      if (v === undefined) continue;
      logits[id] = v > 0 ? v / penalty : v * penalty;
    }
  }

  #sample(logits: Float32Array): number {
    const { temperature, topK, topP, minP } = this.#options;
    const candidates = topCandidates(logits, topK > 0 ? Math.min(topK, logits.length) : logits.length);
    const max = logits[candidates[0]!]!;
    const probs = new Float64Array(candidates.length);
    let sum = 0;
    for (let i = 0; i < candidates.length; i++) {
      const p = Math.exp((logits[candidates[i]!]! - max) / temperature);
      probs[i] = p;
      sum += p;
    }
    let keep = candidates.length;
    if (topP < 1) {
      let cumulative = 0;
      for (let i = 0; i < candidates.length; i++) {
        cumulative += probs[i]! / sum;
        if (cumulative >= topP) {
          keep = i + 1;
          break;
        }
      }
    }
    if (minP > 0) {
      const threshold = (probs[0]! / sum) * minP;
      let kept = 1;
      while (kept < keep && probs[kept]! / sum >= threshold) kept++;
      keep = kept;
    }
    let total = 0;
    for (let i = 0; i < keep; i++) total += probs[i]!;
    let r = this.#random() * total;
    for (let i = 0; i < keep; i++) {
      r -= probs[i]!;
      if (r < 0) return candidates[i]!;
    }
    return candidates[keep - 1]!;
  }
}

/** Indices of the `k` largest logits, largest first (ties: lower index first). */
export function topCandidates(logits: Float32Array, k: number): number[] {
  if (k >= logits.length) {
    return Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b);
  }
  // Keep a sorted window of the best k seen so far; cheap for the small k used in practice.
  const best: number[] = [];
  let floor = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (best.length === k && v <= floor) continue;
    let pos = best.length;
    while (pos > 0 && logits[best[pos - 1]!]! < v) pos--;
    best.splice(pos, 0, i);
    if (best.length > k) best.pop();
    floor = logits[best[best.length - 1]!]!;
  }
  return best;
}
