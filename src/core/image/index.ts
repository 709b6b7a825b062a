export type { RawImage } from './types.js';
export { decodeImage, DEFAULT_MAX_PIXELS, type DecodeImageOptions } from './decode.js';
export { resizeBicubic, resizeLanczos } from './resample.js';
export {
  preprocessImage,
  imageProcessorOptionsFromConfig,
  longestEdgeSize,
  tileAlignedSize,
  type ImageProcessorOptions,
  type ProcessedImage,
} from './preprocess.js';
