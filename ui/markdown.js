/**
 * A tiny Markdown renderer for model answers: paragraphs, fenced code blocks, inline code, bold,
 * italic, lists and headings. It builds DOM nodes and sets only text (textContent / text nodes), so
 * no HTML written by the model ever reaches the DOM as markup.
 */

// Underscores mark emphasis only outside words (snake_case_names stay as they are).
const INLINE = /(`[^`\n]+`|\*\*[^*\n]+\*\*|(?<!\w)__[^_\n]+__(?!\w)|\*[^*\s][^*\n]*\*|(?<!\w)_[^_\s][^_\n]*_(?!\w))/;

/** Appends `text` with its inline marks (code, bold, italic) to `parent`. */
export function appendInline(parent, text) {
  for (const part of text.split(INLINE)) {
    if (part === '') continue;
    let node;
    if (part.length > 2 && part.startsWith('`') && part.endsWith('`')) node = element('code', part.slice(1, -1));
    else if (part.length > 4 && (part.startsWith('**') || part.startsWith('__')) && part.endsWith(part.slice(0, 2))) node = element('strong', part.slice(2, -2));
    else if (part.length > 2 && (part.startsWith('*') || part.startsWith('_')) && part.endsWith(part[0])) node = element('em', part.slice(1, -1));
    else node = document.createTextNode(part);
    parent.append(node);
  }
}

function element(tag, text) {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

const LIST_ITEM = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/;
const HEADING = /^(#{1,6})\s+(.*)$/;

/** The blocks of `text`: { type: 'code' | 'list' | 'heading' | 'paragraph', ... }. */
export function parseBlocks(text) {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks = [];
  let paragraph = [];
  const flush = () => {
    if (paragraph.length > 0) blocks.push({ type: 'paragraph', lines: paragraph });
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trimStart().startsWith('```')) {
      flush();
      const code = [];
      for (i++; i < lines.length && !lines[i].trimStart().startsWith('```'); i++) code.push(lines[i]);
      blocks.push({ type: 'code', text: code.join('\n') });
      continue;
    }
    const item = LIST_ITEM.exec(line);
    const heading = HEADING.exec(line);
    if (item) {
      flush();
      const ordered = item[2] !== undefined;
      const last = blocks[blocks.length - 1];
      if (last && last.type === 'list' && last.ordered === ordered) last.items.push(item[3]);
      else blocks.push({ type: 'list', ordered, items: [item[3]] });
    } else if (heading) {
      flush();
      blocks.push({ type: 'heading', level: heading[1].length, text: heading[2] });
    } else if (line.trim() === '') {
      flush();
    } else {
      paragraph.push(line);
    }
  }
  flush();
  return blocks;
}

/** `text` as a DocumentFragment of safe nodes. */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  for (const block of parseBlocks(text)) fragment.append(renderBlock(block));
  return fragment;
}

function renderBlock(block) {
  switch (block.type) {
    case 'code': {
      const pre = document.createElement('pre');
      pre.append(element('code', block.text));
      return pre;
    }
    case 'list': {
      const list = document.createElement(block.ordered ? 'ol' : 'ul');
      for (const item of block.items) {
        const li = document.createElement('li');
        appendInline(li, item);
        list.append(li);
      }
      return list;
    }
    case 'heading': {
      // Headings in an answer are shown a step smaller than the page's own.
      const heading = document.createElement(`h${Math.min(6, block.level + 2)}`);
      appendInline(heading, block.text);
      return heading;
    }
    default: {
      const p = document.createElement('p');
      block.lines.forEach((line, i) => {
        if (i > 0) p.append(document.createElement('br'));
        appendInline(p, line);
      });
      return p;
    }
  }
}
