/** The API key check: `Authorization: Bearer <key>`, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * True when the Authorization header carries `key` as a bearer token. Both sides are hashed first,
 * so the comparison takes the same time whatever the length or content of the guess.
 */
export function bearerMatches(header: string | undefined, key: string): boolean {
  const match = /^Bearer[ \t]+(.*)$/i.exec(header?.trim() ?? '');
  const given = match ? match[1]!.trim() : '';
  // Always compare, even without a token, so that the time does not tell whether one was sent.
  const same = timingSafeEqual(digest(given), digest(key));
  return match !== null && same;
}
