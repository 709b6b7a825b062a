/** Short names for the official SmolVLM repos, shown by `smolvlm models --available`. */
export interface ModelAlias {
  readonly alias: string;
  readonly repo: string;
  readonly description: string;
  /** The model reads video (its preprocessor config has `video_sampling`). */
  readonly video?: boolean;
}

export const DEFAULT_MODEL = 'HuggingFaceTB/SmolVLM-256M-Instruct';

export const MODEL_ALIASES: readonly ModelAlias[] = [
  { alias: '256m', repo: 'HuggingFaceTB/SmolVLM-256M-Instruct', description: 'SmolVLM 256M Instruct: smallest and fastest (default)' },
  { alias: '500m', repo: 'HuggingFaceTB/SmolVLM-500M-Instruct', description: 'SmolVLM 500M Instruct: better answers, still small' },
  { alias: '2.2b', repo: 'HuggingFaceTB/SmolVLM-Instruct', description: 'SmolVLM 2.2B Instruct: best SmolVLM quality; fp32/fp16 decoder weights in .onnx_data' },
  { alias: 'smolvlm2-256m', repo: 'HuggingFaceTB/SmolVLM2-256M-Video-Instruct', description: 'SmolVLM2 256M Video-Instruct: newer 256M model, reads video', video: true },
  { alias: 'smolvlm2-500m', repo: 'HuggingFaceTB/SmolVLM2-500M-Video-Instruct', description: 'SmolVLM2 500M Video-Instruct: newer 500M model, reads video', video: true },
  {
    alias: 'smolvlm2-2.2b',
    repo: 'HuggingFaceTB/SmolVLM2-2.2B-Instruct',
    description: 'SmolVLM2 2.2B Instruct: no official onnx/ export seen on the Hub yet (pull says so if absent)',
  },
];

/** The alias entry for `name` (case-insensitive), if any. */
export function findAlias(name: string): ModelAlias | undefined {
  const key = name.toLowerCase();
  return MODEL_ALIASES.find((a) => a.alias === key);
}

/** The alias of a repo id, if it has one (for display). */
export function aliasOfRepo(repo: string): string | undefined {
  return MODEL_ALIASES.find((a) => a.repo.toLowerCase() === repo.toLowerCase())?.alias;
}

/** The aliases of the models that read video, as messages name them: `smolvlm2-256m (org/name)`. */
export function videoModelAliases(): string[] {
  return MODEL_ALIASES.filter((a) => a.video).map((a) => `${a.alias} (${a.repo})`);
}
