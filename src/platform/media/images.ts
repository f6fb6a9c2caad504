import { runTool, type RunOptions } from './run.js';

/**
 * A poster frame: ffmpeg's `thumbnail` filter looks at a batch of frames from a tenth of the
 * way in and keeps the most representative one (fewer black or blurred first frames).
 */
export async function extractThumbnail(input: string, durationSeconds: number, out: string, opts: RunOptions = {}): Promise<void> {
  const at = Math.max(0, Math.min(durationSeconds * 0.1, durationSeconds - 1));
  await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-ss', at.toFixed(2), '-i', input, '-vf', 'thumbnail=n=60,scale=-2:min(720\\,ih)', '-frames:v', '1', '-q:v', '3', out], opts);
}

export interface Storyboard {
  /** Seconds between tiles. */
  interval: number;
  count: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

const TILE_WIDTH = 160;
const MAX_TILES = 100;

/** The storyboard layout for a duration and picture size: at most MAX_TILES tiles, 10 per row. */
export function storyboardLayout(durationSeconds: number, source: { width: number; height: number }): Storyboard {
  const interval = Math.max(1, Math.ceil(durationSeconds / MAX_TILES));
  const count = Math.max(1, Math.ceil(durationSeconds / interval));
  const columns = Math.min(10, count);
  const rows = Math.ceil(count / columns);
  const h = Math.round((TILE_WIDTH * source.height) / source.width);
  return { interval, count, columns, rows, tileWidth: TILE_WIDTH, tileHeight: Math.max(2, h - (h % 2)) };
}

/** A sprite sheet of frames every `interval` seconds, for seek previews (paired with a WebVTT file). */
export async function extractStoryboard(input: string, layout: Storyboard, out: string, opts: RunOptions = {}): Promise<void> {
  const vf = `fps=1/${layout.interval},scale=${layout.tileWidth}:${layout.tileHeight},tile=${layout.columns}x${layout.rows}`;
  await runTool('ffmpeg', ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-i', input, '-vf', vf, '-frames:v', '1', '-q:v', '5', out], opts);
}

function ts(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(3).padStart(6, '0')}`;
}

/** The WebVTT cues pointing into the sprite (`sprite#xywh=x,y,w,h`), as players expect for thumbnails tracks. */
export function storyboardVtt(layout: Storyboard, durationSeconds: number, spriteUrl: string): string {
  const lines = ['WEBVTT', ''];
  for (let i = 0; i < layout.count; i++) {
    const start = i * layout.interval;
    const end = Math.min((i + 1) * layout.interval, durationSeconds);
    if (end <= start) break;
    const x = (i % layout.columns) * layout.tileWidth;
    const y = Math.floor(i / layout.columns) * layout.tileHeight;
    lines.push(`${ts(start)} --> ${ts(end)}`, `${spriteUrl}#xywh=${x},${y},${layout.tileWidth},${layout.tileHeight}`, '');
  }
  return lines.join('\n');
}
