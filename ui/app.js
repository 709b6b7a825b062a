/**
 * The chat page: a conversation with the server's model, streamed from /v1/chat/completions.
 * Exports `chat` (its state and actions) so that tests can read what the page holds.
 */
import { ApiError, fetchConfig, streamChat } from './api.js';
import { imageFiles, prepareImage } from './images.js';
import { toTranscript } from './transcript.js';
import { messageElement, renderAttachments, updateMessage } from './view.js';

const KEY_STORAGE = 'smolvlm-api-key';
const $ = (id) => document.getElementById(id);

const state = {
  config: { model: '', longest_edge: 2048, api_key_required: false, response_format: false },
  /** { role, text, images, usage, seconds, finishReason, stopped, element } */
  messages: [],
  /** Images to send with the next message: { name, dataUrl, width, height }. */
  attachments: [],
  /** Aborts the answer being streamed; undefined when none is. */
  controller: undefined,
};

function settings() {
  const temperature = Number($('temperature').value);
  const maxTokens = Number.parseInt($('max-tokens').value, 10);
  return {
    temperature: Number.isFinite(temperature) && temperature >= 0 ? temperature : 0,
    maxTokens: Number.isInteger(maxTokens) && maxTokens >= 1 ? maxTokens : 512,
    system: $('system').value.trim(),
  };
}

function showError(message) {
  const error = $('error');
  error.textContent = message ?? '';
  error.hidden = !message;
}

/** The API's messages for the conversation so far. */
function apiMessages(system) {
  const out = system ? [{ role: 'system', content: system }] : [];
  for (const m of state.messages) {
    if (m.role === 'assistant' || !m.images || m.images.length === 0) out.push({ role: m.role, content: m.text });
    else out.push({ role: 'user', content: [...m.images.map((image) => ({ type: 'image_url', image_url: { url: image.dataUrl } })), { type: 'text', text: m.text }] });
  }
  return out;
}

function addMessage(message) {
  message.element = messageElement(message);
  $('messages').append(message.element);
  message.element.scrollIntoView({ block: 'end' });
  state.messages.push(message);
  return message;
}

function setBusy(busy) {
  $('send').hidden = busy;
  $('stop').hidden = !busy;
}

/** Sends the typed message with the attached images and streams the answer. */
async function send() {
  const text = $('input').value.trim();
  if (state.controller || (text === '' && state.attachments.length === 0)) return;
  const current = settings();
  addMessage({ role: 'user', text, images: state.attachments });
  $('input').value = '';
  state.attachments = [];
  showAttachments();
  showError('');
  const request = { model: state.config.model || 'smolvlm', messages: apiMessages(current.system), temperature: current.temperature, max_tokens: current.maxTokens };
  const answer = addMessage({ role: 'assistant', text: '' });
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  let first;
  try {
    const result = await streamChat(request, {
      apiKey: sessionStorage.getItem(KEY_STORAGE),
      signal: controller.signal,
      onDelta: (delta) => {
        first ??= performance.now();
        answer.text += delta;
        updateMessage(answer.element, answer);
      },
    });
    answer.finishReason = result.finishReason;
    answer.usage = result.usage;
    answer.seconds = first === undefined ? 0 : (performance.now() - first) / 1000;
  } catch (error) {
    if (controller.signal.aborted) answer.stopped = true;
    else failed(error, answer);
  } finally {
    state.controller = undefined;
    setBusy(false);
    updateMessage(answer.element, answer);
  }
}

/** A refused request: its answer and question leave the conversation (the question goes back to the input). */
function failed(error, answer) {
  answer.element.remove();
  state.messages.pop();
  const question = state.messages.pop();
  question.element.remove();
  $('input').value = question.text;
  state.attachments = question.images ?? [];
  showAttachments();
  showError(error instanceof Error ? error.message : String(error));
  if (error instanceof ApiError && error.status === 401) askForKey();
}

function stop() {
  state.controller?.abort();
}

function newChat() {
  stop();
  state.messages = [];
  $('messages').replaceChildren();
  showError('');
}

/** The conversation as the CLI's transcript JSON (what Export saves). */
function transcript() {
  return toTranscript({ model: state.config.model, settings: settings(), messages: state.messages.filter((m) => m.role === 'user' || m.text !== '' || m.stopped) });
}

function exportChat() {
  const blob = new Blob([`${JSON.stringify(transcript(), null, 2)}\n`], { type: 'application/json' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `smolvlm-chat-${new Date().toISOString().slice(0, 19).replaceAll(':', '-')}.json`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function showAttachments() {
  renderAttachments($('attachments'), state.attachments, (index) => {
    state.attachments.splice(index, 1);
    showAttachments();
  });
}

/** Adds the image files among `files` to the next message (resized to the model's longest edge). */
async function attach(files) {
  try {
    for (const file of imageFiles(files)) state.attachments.push(await prepareImage(file, state.config.longest_edge));
  } catch (error) {
    showError(`cannot read that image: ${error instanceof Error ? error.message : String(error)}`);
  }
  showAttachments();
}

function askForKey() {
  const dialog = $('key-dialog');
  if (!dialog.open) dialog.showModal();
}

function wireComposer() {
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    void send();
  });
  $('input').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void send();
    }
  });
  $('input').addEventListener('paste', (event) => {
    const files = imageFiles(event.clipboardData?.files);
    if (files.length === 0) return;
    event.preventDefault();
    void attach(files);
  });
  $('file-input').addEventListener('change', (event) => {
    void attach(event.target.files).then(() => (event.target.value = ''));
  });
  $('stop').addEventListener('click', stop);
}

function wirePage() {
  // Images may be dropped anywhere on the page.
  document.addEventListener('dragover', (event) => {
    event.preventDefault();
    $('composer').classList.add('dragging');
  });
  document.addEventListener('dragleave', () => $('composer').classList.remove('dragging'));
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    $('composer').classList.remove('dragging');
    void attach(event.dataTransfer?.files);
  });
  $('new-chat').addEventListener('click', newChat);
  $('export').addEventListener('click', exportChat);
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $('key-input').value.trim());
    $('key-dialog').close();
    showError('');
  });
}

/** The model's name for the header: a local folder by its last part (a Hub id as it is). */
function shownName(model) {
  return /^([./~]|[a-z]:\\)/i.test(model) ? model.split(/[\\/]/).filter(Boolean).pop() ?? model : model;
}

async function start() {
  wireComposer();
  wirePage();
  try {
    state.config = await fetchConfig();
  } catch (error) {
    showError(`cannot reach the server: ${error instanceof Error ? error.message : String(error)}`);
  }
  $('model-name').textContent = shownName(state.config.model);
  if (state.config.api_key_required && !sessionStorage.getItem(KEY_STORAGE)) askForKey();
  document.body.dataset.ready = 'true';
}

/** The page's state and actions, for tests and the console. */
export const chat = { state, send, stop, newChat, transcript, attach };

void start();
