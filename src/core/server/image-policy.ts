/**
 * Which image URLs a server reads: a security boundary. `data:` URLs always (the client sends the
 * bytes). `http(s)` URLs only when the server is bound to a loopback address, or when its operator
 * allowed them: a server reachable from other machines that fetches any URL a client names would
 * let those clients make requests from inside the operator's network (request forgery). Local
 * paths, `file://` and `-` never: the server's files are not the client's.
 */
import { BlockList, isIP } from 'node:net';
import { invalidField } from './errors.js';

export interface ImageUrlPolicy {
  /** Whether http(s) image URLs are fetched. */
  readonly remote: boolean;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** True for `localhost`, 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses (brackets allowed). */
export function isLoopbackHost(host: string): boolean {
  const name = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(name);
  if (mapped) return LOOPBACK.check(mapped[1]!, 'ipv4');
  const family = isIP(name);
  if (family === 4) return LOOPBACK.check(name, 'ipv4');
  if (family === 6) return LOOPBACK.check(name, 'ipv6');
  return false;
}

/** The policy of a server bound to `host`: http(s) URLs when that is loopback or when `allowImageUrls`. */
export function imageUrlPolicy(host: string, allowImageUrls = false): ImageUrlPolicy {
  return { remote: allowImageUrls || isLoopbackHost(host) };
}

/** Throws a 400 naming `param` unless `url` is an image URL the policy lets the server read. */
export function checkImageUrl(url: string, param: string, policy: ImageUrlPolicy): void {
  if (/^data:/i.test(url)) return;
  if (/^https?:\/\//i.test(url)) {
    if (policy.remote) return;
    throw invalidField(
      param,
      `${param}: http(s) image URLs are refused by a server bound to a non-loopback address (it would fetch any URL a client names); send the image as a data: URL, or start the server with --allow-image-urls`,
      'image_url_not_allowed',
    );
  }
  if (/^file:/i.test(url)) throw invalidField(param, `${param}: file:// URLs are never read by the server; send the image as a data: URL`, 'image_url_not_allowed');
  throw invalidField(param, `${param} must be a data: URL or an http(s) URL, got ${JSON.stringify(url.length > 40 ? `${url.slice(0, 40)}…` : url)}`, 'invalid_image_url');
}
