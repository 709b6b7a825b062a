/** Value parsers of `smolvlm serve`'s own flags (commander reports a bad value naming the flag). */
import { InvalidArgumentError } from '@commander-js/extra-typings';

/** A TCP port, 0 to 65535 (0 picks a free port). */
export function portNumber(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isSafeInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('Must be a port number from 0 to 65535.');
  return n;
}

/** An integer >= 0. */
export function count(value: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('Must be an integer >= 0.');
  return n;
}

const UNIT_BYTES: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
};

/**
 * A size such as `20MiB`, `512KiB`, `5MB` or `1048576` (bytes). Hand-written: the npm parsers read
 * `MB` as 1024², where people who write `MB` mean 10⁶ as often as not; here KiB/MiB/GiB (and
 * K/M/G) are binary and kB/MB/GB decimal.
 */
export function byteSize(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? UNIT_BYTES[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new InvalidArgumentError('Must be a size such as 20MiB, 512KiB, 5MB or a number of bytes.');
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < 1) throw new InvalidArgumentError('Must be at least 1 byte.');
  return bytes;
}
