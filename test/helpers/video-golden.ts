/** The transformers goldens for video sampling and prompts (see `_source` in the JSON for how they were made). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, sharedDir } from './shared.js';

export interface GoldenClip {
  clip: { name: string; rate: string; seconds: number };
  sampling: { fps: number; maxFrames: number };
  metadata: { frameCount: number; fps: number; duration: number };
  indices: number[];
  timestamps: string[];
  intro: string;
  promptTokens: number;
  promptSha256: string;
}

export const videoGolden = JSON.parse(readFileSync(path.join(repoRoot, 'test', 'golden', 'smolvlm2-video-sampling.json'), 'utf8')) as {
  question: string;
  clips: GoldenClip[];
};

/** The SmolVLM2 reference files (tokenizer, preprocessor config) beside the checkout. */
export const smolvlm2ReferenceDir = path.join(sharedDir, 'reference', 'SmolVLM2-256M-Video-Instruct');
