/** The wording of the commands' default prompts. */

import { DESCRIBE_PROMPT } from '../index.js';

/** What SmolVLM's model card asks: the prompt `describe` and `caption` use unless --prompt says otherwise (its home is the core). */
export { DESCRIBE_PROMPT };

export function storyPrompt(imageCount: number): string {
  return imageCount === 1
    ? 'Write a short story inspired by this image.'
    : `Write a short story that connects these ${imageCount} images, in the order they are shown.`;
}
