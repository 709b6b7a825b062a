/**
 * The text a video stands for in the prompt, character for character as transformers' SmolVLM processor
 * writes it (`processing_smolvlm.py`: DEFAULT_VIDEO_INTRO, FRAME_TIMESTAMP_MESSAGE, DEFAULT_MEDIA_OUTTRO),
 * and the processor's own chat template, which it uses instead of the model's whenever a conversation
 * contains a video (the models' `chat_template.json` predates video and has no `video` case).
 */
import { SmolVLMError } from '../errors.js';
import { numberToWords } from './words.js';

/** The placeholder the chat template writes for a video part. */
export const VIDEO_TOKEN = '<video>';

/**
 * transformers' `SmolVLMProcessor` DEFAULT_CHAT_TEMPLATE: the model template plus a `video` case. A
 * message whose first part is an image gets `User:`, any other (text or video first) `User: `.
 */
export const VIDEO_CHAT_TEMPLATE =
  "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ '<video>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

/** What the prompt says about one video: its length and the `MM:SS` of each sampled frame. */
export interface VideoPromptInfo {
  /** Seconds; the prompt shows the whole seconds (`int(duration)`). */
  duration: number;
  /** One `MM:SS` per sampled frame, in order (see `formatFrameTimestamp`). */
  timestamps: readonly string[];
}

/** `str(timedelta(seconds=int(seconds)))`: "0:00:03", "0:01:40", "1 day, 0:00:00". */
export function formatVideoDuration(seconds: number): string {
  if (!(seconds >= 0) || !Number.isFinite(seconds)) throw new RangeError(`formatVideoDuration: ${seconds} is not a duration`);
  const whole = Math.trunc(seconds);
  const days = Math.floor(whole / 86400);
  const rest = whole % 86400;
  const pad = (n: number) => String(n).padStart(2, '0');
  const clock = `${Math.floor(rest / 3600)}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${clock}` : clock;
}

/**
 * The expansion of one `<video>`: the intro naming the frame count in words and the duration, then per
 * frame `\nFrame from MM:SS:` and the frame's image block (one global image, as `imagePromptString`
 * makes for an unsplit image), then a blank line.
 */
export function videoPromptString(video: VideoPromptInfo, imageBlock: string): string {
  const count = video.timestamps.length;
  if (count === 0) throw new SmolVLMError('PROMPT_INVALID', 'a video in the prompt has no frames');
  let text = `You are provided the following series of ${numberToWords(count)} frames from a ${formatVideoDuration(video.duration)} [H:MM:SS] video.\n`;
  for (const timestamp of video.timestamps) text += `\nFrame from ${timestamp}:${imageBlock}`;
  return `${text}\n\n`;
}

/** Replaces the i-th `<video>` of a rendered prompt with the expansion of the i-th video. */
export function expandVideoPlaceholders(prompt: string, videos: readonly VideoPromptInfo[], imageBlock: string): string {
  const pieces = prompt.split(VIDEO_TOKEN);
  const placeholders = pieces.length - 1;
  if (placeholders !== videos.length) {
    throw new SmolVLMError('PROMPT_INVALID', `the prompt has ${placeholders} video placeholder(s) but ${videos.length} video(s) were given`);
  }
  let text = pieces[0]!;
  for (let i = 0; i < videos.length; i++) text += videoPromptString(videos[i]!, imageBlock) + pieces[i + 1]!;
  return text;
}
