/** The wording of the commands' default prompts. */

/** What SmolVLM's model card asks: the prompt `describe` uses unless --prompt says otherwise. */
export const DESCRIBE_PROMPT = 'Can you describe this image?';

export function storyPrompt(imageCount: number): string {
  return imageCount === 1
    ? 'Write a short story inspired by this image.'
    : `Write a short story that connects these ${imageCount} images, in the order they are shown.`;
}
