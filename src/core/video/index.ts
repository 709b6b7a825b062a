/** Video input for SmolVLM2: sniffing, probing and seeking with ffmpeg, the reference's frame sampling and prompt text. */
export { sniffVideoFormat, supportedVideoFormatList, VIDEO_FORMAT_NAMES, VIDEO_SNIFF_BYTES, type VideoFormat } from './sniff.js';
export { FFMPEG_ENV, resolveFfmpeg, runFfmpeg, type FfmpegBinary, type RunFfmpegOptions } from './ffmpeg.js';
export { probeVideo, type ProbeOptions, type VideoInfo } from './probe.js';
export { decodeVideoFrame, decodeVideoFrames, seekTime, type DecodedFrame, type DecodeFramesOptions } from './decode.js';
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
  preprocessVideoFrame,
  resizeVideoFrame,
  videoFrameResizedSize,
  videoProcessorOptionsFromConfig,
  type VideoConfigOptions,
  type VideoProcessorOptions,
  type VideoResample,
} from './frames.js';
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
export { writeTempVideo, type TempVideoFile } from './temp-file.js';
export { DEFAULT_MAX_VIDEO_BYTES, readMediaSource, type ImageMedia, type MediaSource, type VideoFile } from './source.js';
export { planVideo, videoFramePixels, type PlannedFramePixels, type PlanVideoOptions, type VideoPlan } from './plan.js';
