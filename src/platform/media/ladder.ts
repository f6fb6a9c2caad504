import { storyboardFilter, thumbnailFilter, type Storyboard } from './images.js';

/** One rendition of the HLS ladder. */
export interface Rung {
  height: number;
  /** Video bitrate cap, kbit/s. */
  videoKbps: number;
  audioKbps: number;
}

const TABLE: Record<number, { videoKbps: number; audioKbps: number }> = {
  144: { videoKbps: 200, audioKbps: 64 },
  240: { videoKbps: 400, audioKbps: 64 },
  360: { videoKbps: 800, audioKbps: 96 },
  480: { videoKbps: 1400, audioKbps: 128 },
  720: { videoKbps: 2800, audioKbps: 128 },
  1080: { videoKbps: 5000, audioKbps: 160 },
  1440: { videoKbps: 8000, audioKbps: 160 },
  2160: { videoKbps: 14000, audioKbps: 192 },
};

/**
 * The rungs a source gets: every configured height at or below the source's (never upscaled),
 * and at least the lowest, scaled down to the source's own height when it is smaller still.
 */
export function rungsFor(ladder: number[], sourceHeight: number): Rung[] {
  const sorted = [...ladder].sort((a, b) => a - b);
  const fit = sorted.filter((h) => h <= sourceHeight);
  const heights = fit.length ? fit : [Math.max(2, sourceHeight - (sourceHeight % 2))];
  return heights.map((height) => {
    const known = TABLE[height] ?? TABLE[sorted[0] ?? 144] ?? { videoKbps: 200, audioKbps: 64 };
    return { height, ...known };
  });
}

/** Even width for a height, keeping the source's aspect ratio (x264 needs even sizes). */
export function widthFor(height: number, source: { width: number; height: number }): number {
  const w = Math.round((source.width * height) / source.height);
  return Math.max(2, w - (w % 2));
}

/** Still pictures made from the same decode as the renditions (extra branches of the filter graph). */
export interface HlsImages {
  /** Poster JPEG: the most representative of 60 frames from a tenth of the way in. */
  thumbnail?: { out: string; durationSeconds: number };
  /** Seek-preview sprite JPEG. */
  storyboard?: { out: string; layout: Storyboard };
}

export interface HlsJob {
  input: string;
  /** Each rung goes to `${outDir(rung)}/index.m3u8` with `seg_%05d.ts` segments beside it. */
  rungs: Rung[];
  outDir(rung: Rung): string;
  source: { width: number; height: number; hasAudio: boolean };
  segmentSeconds: number;
  preset: string;
  /** Threads per ffmpeg (0: ffmpeg decides). */
  threads?: number;
  images?: HlsImages;
}

/**
 * One ffmpeg command for several rungs: the source is decoded once and split, each branch scaled
 * and encoded (H.264 main + AAC) into VOD HLS with a key frame at every segment boundary, so
 * every rendition's segments line up and players can switch between them. The poster and the
 * storyboard, when asked for, are further branches of the same graph: no decode of their own.
 */
export function hlsArgs(job: HlsJob): string[] {
  const { thumbnail, storyboard } = job.images ?? {};
  const chains = job.rungs.map((r) => `scale=${widthFor(r.height, job.source)}:${r.height}:flags=bicubic,format=yuv420p`);
  if (thumbnail) chains.push(thumbnailFilter(thumbnail.durationSeconds, job.source));
  if (storyboard) chains.push(storyboardFilter(storyboard.layout));
  const n = chains.length;
  const split = n > 1 ? `[0:v]split=${n}${chains.map((_, i) => `[s${i}]`).join('')};` : '';
  const graph = split + chains.map((c, i) => `${n > 1 ? `[s${i}]` : '[0:v]'}${c}[v${i}]`).join(';');
  const args = ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-i', job.input, '-filter_complex', graph];
  job.rungs.forEach((r, i) => {
    const dir = job.outDir(r);
    args.push('-map', `[v${i}]`);
    if (job.source.hasAudio) args.push('-map', '0:a:0');
    args.push(
      '-c:v', 'libx264', '-preset', job.preset, '-profile:v', 'main',
      '-b:v', `${r.videoKbps}k`, '-maxrate', `${Math.round(r.videoKbps * 1.2)}k`, '-bufsize', `${r.videoKbps * 2}k`,
      '-force_key_frames', `expr:gte(t,n_forced*${job.segmentSeconds})`, '-sc_threshold', '0',
      '-threads', String(job.threads ?? 0),
    );
    if (job.source.hasAudio) args.push('-c:a', 'aac', '-b:a', `${r.audioKbps}k`, '-ac', '2');
    args.push(
      '-f', 'hls', '-hls_time', String(job.segmentSeconds), '-hls_playlist_type', 'vod', '-hls_segment_type', 'mpegts',
      '-hls_segment_filename', `${dir}/seg_%05d.ts`, `${dir}/index.m3u8`,
    );
  });
  let next = job.rungs.length;
  if (thumbnail) args.push('-map', `[v${next++}]`, '-frames:v', '1', '-q:v', '3', '-f', 'image2', '-update', '1', thumbnail.out);
  if (storyboard) args.push('-map', `[v${next++}]`, '-frames:v', '1', '-q:v', '5', '-f', 'image2', '-update', '1', storyboard.out);
  return args;
}

/** Peak bandwidth announced in the master playlist, bit/s (what players use to pick a rung). */
export function bandwidthOf(r: Rung, hasAudio: boolean): number {
  return Math.round((r.videoKbps * 1.2 + (hasAudio ? r.audioKbps : 0)) * 1000);
}
