/**
 * The conversation as the CLI's transcript JSON (format "smolvlm-chat", version 1; see the README,
 * "Chat"), so that `smolvlm chat` can `/load` it. Settings use their snake_case names; images are
 * references, here data: URLs (the page has no file paths), which /load reads again.
 */

export const TRANSCRIPT_FORMAT = 'smolvlm-chat';
export const TRANSCRIPT_VERSION = 1;

/** OpenAI's finish reasons in the transcript's words (the page sends no stop strings: "stop" is the end of the answer). */
function finishReason(message) {
  if (message.stopped) return 'aborted';
  if (message.finishReason === 'length') return 'length';
  if (message.finishReason === 'stop') return 'eos';
  return undefined;
}

/** { model, settings: { temperature, maxTokens, system }, messages: [{ role, text, images, finishReason, stopped }] } -> transcript. */
export function toTranscript({ model, settings, messages }) {
  const out = [];
  if (settings.system) out.push({ role: 'system', text: settings.system });
  for (const message of messages) {
    const entry = { role: message.role, text: message.text };
    if (message.images && message.images.length > 0) entry.images = message.images.map((image) => ({ source: image.dataUrl, label: image.name }));
    const reason = message.role === 'assistant' ? finishReason(message) : undefined;
    if (reason) entry.finish_reason = reason;
    out.push(entry);
  }
  return {
    format: TRANSCRIPT_FORMAT,
    version: TRANSCRIPT_VERSION,
    ...(model ? { model } : {}),
    saved: new Date().toISOString(),
    settings: { temperature: settings.temperature, max_tokens: settings.maxTokens },
    messages: out,
  };
}
