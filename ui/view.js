/** The conversation's DOM: one element per message, built with text only (see markdown.js). */
import { renderMarkdown } from './markdown.js';

/** A message's element: its role, images, body (rendered answer or plain user text) and a line for its usage. */
export function messageElement(message) {
  const article = document.createElement('article');
  article.className = `message ${message.role}`;
  const role = document.createElement('div');
  role.className = 'role';
  role.textContent = message.role === 'user' ? 'You' : 'smolvlm';
  article.append(role);
  if (message.images && message.images.length > 0) {
    const images = document.createElement('div');
    images.className = 'images';
    for (const image of message.images) {
      const img = document.createElement('img');
      img.src = image.dataUrl;
      img.alt = image.name;
      images.append(img);
    }
    article.append(images);
  }
  const body = document.createElement('div');
  body.className = 'body';
  article.append(body);
  const footer = document.createElement('div');
  footer.className = 'usage';
  article.append(footer);
  updateMessage(article, message);
  return article;
}

/** Shows the message's current text, whether it was stopped, and its usage. */
export function updateMessage(article, message) {
  const body = article.querySelector('.body');
  if (message.role === 'assistant') body.replaceChildren(renderMarkdown(message.text));
  else body.textContent = message.text;
  const footer = article.querySelector('.usage');
  footer.textContent = [message.stopped ? 'stopped' : '', usageText(message)].filter(Boolean).join(' · ');
}

/** "prompt 812 tokens (790 cached) · 24 tokens · 31.2 tokens/s". */
export function usageText(message) {
  const usage = message.usage;
  if (!usage) return '';
  const cached = usage.prompt_tokens_details ? usage.prompt_tokens_details.cached_tokens : 0;
  const parts = [`prompt ${usage.prompt_tokens} tokens (${cached} cached)`, `${usage.completion_tokens} tokens`];
  if (message.seconds > 0) parts.push(`${(usage.completion_tokens / message.seconds).toFixed(1)} tokens/s`);
  return parts.join(' · ');
}

/** The previews of the images to send, each with a button that removes it. */
export function renderAttachments(list, attachments, onRemove) {
  list.replaceChildren(
    ...attachments.map((image, index) => {
      const li = document.createElement('li');
      const img = document.createElement('img');
      img.src = image.dataUrl;
      img.alt = image.name;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.textContent = '×';
      remove.setAttribute('aria-label', `Remove ${image.name}`);
      remove.addEventListener('click', () => onRemove(index));
      li.append(img, remove);
      return li;
    }),
  );
}
