/** A decoded image: interleaved 8-bit samples, RGB or RGBA (alpha not premultiplied), row-major. */
export interface RawImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}
