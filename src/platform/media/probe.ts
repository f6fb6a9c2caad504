import { MediaToolError, runTool } from './run.js';

export interface ProbeResult {
  container: string;
  durationSeconds: number;
  width: number;
  height: number;
  videoCodec: string;
  audioCodec: string | null;
  frameRate: number | null;
  bitRate: number | null;
}

export type ProbeFailure = 'not_a_video' | 'no_video_stream' | 'corrupt';

export class ProbeError extends Error {
  constructor(
    readonly reason: ProbeFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ProbeError';
  }
}

interface FfprobeJson {
  format?: { format_name?: string; duration?: string; bit_rate?: string; probe_score?: number };
  streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number; avg_frame_rate?: string; disposition?: { attached_pic?: number } }[];
}

// Still images probe as one-frame "video" streams; they are not videos for us.
const IMAGE_FORMATS = /(^|,)(image2|png_pipe|jpeg_pipe|webp_pipe|gif|bmp_pipe|tiff_pipe|svg_pipe)(,|$)/;
const IMAGE_CODECS = new Set(['mjpeg', 'png', 'webp', 'bmp', 'tiff', 'gif', 'svg']);

function rate(r: string | undefined): number | null {
  if (!r) return null;
  const [a, b] = r.split('/').map(Number);
  if (!a || !b) return null;
  return Math.round((a / b) * 1000) / 1000;
}

/**
 * What a file is, by ffprobe. Throws ProbeError with a reason a person can act on: not a video at
 * all, a file with no picture (audio only), or one ffprobe can open but not make sense of
 * (damaged, truncated).
 */
export async function probe(input: string, opts: { signal?: AbortSignal } = {}): Promise<ProbeResult> {
  let json: FfprobeJson;
  try {
    const { stdout } = await runTool('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', input], opts);
    json = JSON.parse(stdout) as FfprobeJson;
  } catch (err) {
    if (err instanceof MediaToolError) {
      // A recognised container whose index is missing or cut short is a damaged file, not a wrong one.
      if (/moov atom not found|Invalid data found|truncat|End of file|partial file/i.test(err.stderr) && /mov|mp4|matroska|webm|ebml|moov/i.test(err.stderr)) {
        throw new ProbeError('corrupt', 'The file is damaged or incomplete (was the upload cut short?).');
      }
      throw new ProbeError('not_a_video', 'The file is not a video format we can read.');
    }
    throw err;
  }
  const format = json.format ?? {};
  const streams = json.streams ?? [];
  const formatName = format.format_name ?? '';
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic && !IMAGE_CODECS.has(s.codec_name ?? ''));
  const audio = streams.find((s) => s.codec_type === 'audio');
  if (IMAGE_FORMATS.test(formatName)) throw new ProbeError('not_a_video', 'The file is a still image, not a video.');
  if (!video) {
    if (audio) throw new ProbeError('no_video_stream', 'The file has no video stream (audio only).');
    throw new ProbeError('not_a_video', 'The file is not a video format we can read.');
  }
  const duration = Number(format.duration);
  if (!Number.isFinite(duration) || duration <= 0 || !video.width || !video.height) {
    throw new ProbeError('corrupt', 'The file is damaged or incomplete (no duration or picture size could be read).');
  }
  return {
    container: formatName,
    durationSeconds: Math.round(duration * 1000) / 1000,
    width: video.width,
    height: video.height,
    videoCodec: video.codec_name ?? 'unknown',
    audioCodec: audio?.codec_name ?? null,
    frameRate: rate(video.avg_frame_rate),
    bitRate: format.bit_rate ? Number(format.bit_rate) : null,
  };
}
