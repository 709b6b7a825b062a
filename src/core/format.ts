/** Sizes in words, the same in the library's messages and the command line's output. */

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

export interface FormatBytesOptions {
  /**
   * Keep one decimal (`6.0 MiB`) so that numbers in a progress line or a table do not change width;
   * by default a whole number drops it (`the 10 MiB limit`).
   */
  fixed?: boolean;
}

/** 1536 -> "1.5 KiB", 10485760 -> "10 MiB" (`fixed`: "10.0 MiB"), 512 -> "512 bytes"; from 100 up no decimal. */
export function formatBytes(bytes: number, options: FormatBytesOptions = {}): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} bytes`;
  const number = value >= 100 ? String(Math.round(value)) : value.toFixed(1);
  return `${options.fixed ? number : number.replace(/\.0$/, '')} ${UNITS[unit]}`;
}
