/**
 * Picking image paths out of a typed chat line: quoted ('…', "…"), with backslash-escaped spaces the
 * way terminals paste a dragged-in file, `~`, or `file://` URLs.
 */
import { stat } from 'node:fs/promises';
import { hasImageExtension, hasVideoExtension, isFileUrl, resolveLocalPath, type PathResolveOptions } from '../../index.js';

interface Token {
  /** Offsets of the raw token in the line. */
  start: number;
  end: number;
}

const QUOTES = new Set(["'", '"']);

function isSpace(c: string | undefined): boolean {
  return c !== undefined && /\s/.test(c);
}

/**
 * Shell-like unquoting of one raw token: backslash escapes the next character; a token that begins
 * with a quote is parsed with shell rules ('…' literal, "…" with \" and \\), so GNOME's
 * `'it'\''s.jpg'` works. Quotes inside a token that began unquoted (`it's`) stay literal.
 */
export function unquoteToken(raw: string): string {
  const shellQuotes = QUOTES.has(raw[0] ?? '');
  let out = '';
  let i = 0;
  while (i < raw.length) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      out += raw[i + 1];
      i += 2;
      continue;
    }
    if (shellQuotes && QUOTES.has(c)) {
      const close = findClosingQuote(raw, i);
      if (close >= 0) {
        out += unquoteSegment(raw.slice(i + 1, close), c);
        i = close + 1;
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

function findClosingQuote(text: string, open: number): number {
  const quote = text[open];
  for (let i = open + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === quote) return i;
  }
  return -1;
}

function unquoteSegment(body: string, quote: string): string {
  if (quote === "'") return body;
  return body.replace(/\\(["\\$`])/g, '$1');
}

/**
 * Splits a line into raw tokens at unescaped whitespace outside quotes. A quote opens a quoted
 * stretch only at the start of a token (or right after another quoted stretch / escape inside one)
 * and only when it is closed later in the line, so prose apostrophes never swallow the line.
 */
function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && isSpace(line[i])) i++;
    if (i >= line.length) break;
    const start = i;
    const shellQuotes = QUOTES.has(line[i]!);
    while (i < line.length && !isSpace(line[i])) {
      const c = line[i]!;
      if (c === '\\' && i + 1 < line.length) {
        i += 2;
        continue;
      }
      if (shellQuotes && QUOTES.has(c)) {
        const close = findClosingQuote(line, i);
        if (close >= 0) {
          i = close + 1;
          continue;
        }
      }
      i++;
    }
    tokens.push({ start, end: i });
  }
  return tokens;
}

const LEADING_PUNCTUATION = /^[([{<]+/;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}>]+$/;

/**
 * Sub-spans of a raw token to try, most literal first: the whole token, then without trailing
 * sentence punctuation ("~/cat.jpg?"), without leading brackets, and without both.
 */
function candidateSpans(raw: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [[0, raw.length]];
  const lead = LEADING_PUNCTUATION.exec(raw)?.[0].length ?? 0;
  // Punctuation escaped with a backslash belongs to the name (`shot\?`), not to the sentence.
  let trail = TRAILING_PUNCTUATION.exec(raw)?.[0].length ?? 0;
  while (trail > 0 && raw[raw.length - trail - 1] === '\\') trail--;
  const push = (s: number, e: number): void => {
    if (e > s && !spans.some(([a, b]) => a === s && b === e)) spans.push([s, e]);
  };
  push(0, raw.length - trail);
  push(lead, raw.length);
  push(lead, raw.length - trail);
  return spans;
}

/** Values a raw token may stand for: unquoted (shell rules) first, then verbatim (Windows `C:\…`). */
function candidateValues(raw: string): string[] {
  const unquoted = unquoteToken(raw);
  return unquoted === raw ? [raw] : [unquoted, raw];
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

function isRemoteUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) && !isFileUrl(text);
}

interface Resolution {
  /** Absolute path of the existing image file, when found. */
  resolved?: string;
  /** Sub-span of the raw token that named it (or that looked like an image path). */
  span?: [number, number];
  /** The path as the user meant it (unquoted, `~` unexpanded), when it looks like an image path. */
  looksLike?: string;
}

async function resolveToken(raw: string, options: PathResolveOptions): Promise<Resolution> {
  let looksLike: string | undefined;
  let looksLikeSpan: [number, number] | undefined;
  // Prefer the most trimmed spelling when reporting a missing image: "holiday.jpg", not "(holiday.jpg".
  for (const [s, e] of candidateSpans(raw)) {
    let spanLooksLike = false;
    for (const value of candidateValues(raw.slice(s, e))) {
      if (value === '' || isRemoteUrl(value)) continue;
      let absolute: string;
      try {
        absolute = resolveLocalPath(value, options);
      } catch {
        continue; // a malformed file: URL is not a reference
      }
      const name = isFileUrl(value) ? absolute : value;
      if (!hasImageExtension(name) && !hasVideoExtension(name)) continue;
      if (await isFile(absolute)) return { resolved: absolute, span: [s, e] };
      if (!spanLooksLike) {
        spanLooksLike = true;
        looksLike = value;
        looksLikeSpan = [s, e];
      }
    }
  }
  return looksLike === undefined ? {} : { looksLike, span: looksLikeSpan };
}

/**
 * For the chat REPL: when `text` (one token as typed or pasted — quoted or not, with `\ ` escapes,
 * `~`, or a `file://` URL) names an existing file with an image extension, its absolute path;
 * otherwise undefined. Surrounding whitespace and trailing sentence punctuation are ignored.
 */
export async function looksLikeImageReference(
  text: string,
  cwd?: string,
  options: { homeDir?: string } = {},
): Promise<string | undefined> {
  const raw = text.trim();
  if (raw === '') return undefined;
  return (await resolveToken(raw, { cwd, homeDir: options.homeDir })).resolved;
}

export interface ExtractedImageReferences {
  /** The line with the image references removed (whitespace tidied where they were). */
  text: string;
  /** Absolute paths of the existing image files named, in order of appearance (repeats kept). */
  images: string[];
  /**
   * Tokens that look like image paths (image extension) but name no existing file, as the user
   * meant them (unquoted, `~` not expanded). They stay in `text`; the caller should warn.
   */
  missing: string[];
}

/**
 * For the chat REPL: finds the tokens of a message line that name existing image files (see
 * IMAGE_EXTENSIONS; quoted with '…' or "…", backslash-escaped spaces, `~`, `file://` URLs),
 * removes them from the text and returns their absolute paths. `http(s)://` URLs are left alone.
 */
export async function extractImageReferences(
  line: string,
  cwd?: string,
  options: { homeDir?: string } = {},
): Promise<ExtractedImageReferences> {
  const images: string[] = [];
  const missing: string[] = [];
  const removals: Array<[number, number]> = [];
  for (const token of tokenize(line)) {
    const raw = line.slice(token.start, token.end);
    const found = await resolveToken(raw, { cwd, homeDir: options.homeDir });
    if (found.resolved !== undefined && found.span) {
      images.push(found.resolved);
      removals.push([token.start + found.span[0], token.start + found.span[1]]);
    } else if (found.looksLike !== undefined) {
      missing.push(found.looksLike);
    }
  }
  if (removals.length === 0) return { text: line.trim(), images, missing };
  const pieces: string[] = [];
  let from = 0;
  for (const [start, end] of removals) {
    pieces.push(line.slice(from, start));
    from = end;
  }
  pieces.push(line.slice(from));
  const text = pieces.reduce((left, right) => joinTidy(left, right));
  return { text: text.trim(), images, missing };
}

/** Joins two pieces of text around a removed token: one space between words, none before punctuation. */
function joinTidy(left: string, right: string): string {
  const l = left.replace(/\s+$/, '');
  const r = right.replace(/^\s+/, '');
  if (l === '' || r === '') return l + r;
  if (/^[.,;:!?)\]}]/.test(r)) return l + r;
  return `${l} ${r}`;
}
