/** Video input for SmolVLM2: sniffing, probing and seeking with ffmpeg, the reference's frame sampling and prompt text. */
export {
  checkSamplingOptions,
  formatFrameTimestamp,
  linspaceUniqueInts,
  roundHalfEven,
  sampleFrameIndices,
  sampleFrames,
  type SampledFrame,
  type VideoSamplingOptions,
  type VideoTiming,
} from './sampling.js';
export {
  expandVideoPlaceholders,
  formatVideoDuration,
  VIDEO_CHAT_TEMPLATE,
  VIDEO_TOKEN,
  videoPromptString,
  type VideoPromptInfo,
} from './prompt.js';
export { numberToWords } from './words.js';
export { fitVideoToContext, type VideoBudget, type VideoFitResult } from './budget.js';
