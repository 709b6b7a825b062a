/**
 * How a video's frames are resized. `model` (the default): as the models were released, the longest
 * edge to `video_sampling.video_size`, then to the square tile, with the config's kernel (Lanczos).
 * `transformers`: as current transformers (5.x) does, the first resize to `size.longest_edge` instead.
 * `transformers-4`: as transformers 4.5x's torch path, that and antialiased bicubic instead of Lanczos.
 * Apart from generation/videos.ts so that the CLI's --frame-resize choices load without the video code.
 */
export type VideoResize = 'model' | 'transformers' | 'transformers-4';
export const VIDEO_RESIZE_MODES: readonly VideoResize[] = ['model', 'transformers', 'transformers-4'];
