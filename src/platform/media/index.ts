export { detectEncoders, WANTED_ENCODERS } from './encoders.js';
export { storyboardFilter, storyboardLayout, storyboardVtt, thumbnailFilter, thumbnailStart, type Storyboard } from './images.js';
export { bandwidthOf, hlsArgs, rungsFor, widthFor, type HlsImages, type HlsJob, type Rung } from './ladder.js';
export { probe, ProbeError, type ProbeFailure, type ProbeResult } from './probe.js';
export { MediaToolError, runTool, type RunOptions } from './run.js';
