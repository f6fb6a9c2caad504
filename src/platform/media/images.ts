const THUMBNAIL_BATCH = 60;
const THUMBNAIL_MAX_HEIGHT = 720;

/** Where the poster is looked for: a tenth of the way in (past black or blurred first frames). */
export function thumbnailStart(durationSeconds: number): number {
  return Math.max(0, Math.min(durationSeconds * 0.1, durationSeconds - 1));
}

/**
 * A poster frame as a filter chain for a branch of the transcode's filter graph, so it comes from
 * the decode the renditions use: ffmpeg's `thumbnail` filter looks at a batch of frames from a
 * tenth of the way in and keeps the most representative one. Frames outside the batch are dropped
 * before any scaling, so the branch costs 60 scaled frames whatever the length.
 */
export function thumbnailFilter(durationSeconds: number, source: { width: number; height: number }): string {
  const h = Math.min(THUMBNAIL_MAX_HEIGHT, source.height - (source.height % 2));
  const w = Math.max(2, Math.round((source.width * h) / source.height / 2) * 2);
  return `trim=start=${thumbnailStart(durationSeconds).toFixed(3)},select='lt(n,${THUMBNAIL_BATCH})',scale=${w}:${h},thumbnail=n=${THUMBNAIL_BATCH}`;
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

/** The storyboard sprite as a filter chain: one tile every `interval` seconds, tiled into one picture. */
export function storyboardFilter(layout: Storyboard): string {
  return `fps=1/${layout.interval},scale=${layout.tileWidth}:${layout.tileHeight},tile=${layout.columns}x${layout.rows}`;
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
