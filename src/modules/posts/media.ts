import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import { AppError } from '../../platform/errors.js';
import { MAX_INPUT_PIXELS, sniffImageFormat } from '../users/images.js';
import { presentMedia, type PresentedMedia } from './present.js';
import { mediaAttachments } from './tables.js';

/** Widths of the stored renditions: a feed thumbnail and a full-screen view. Never enlarged. */
export const MEDIA_WIDTHS = [320, 1280] as const;

const unsupported = () => new AppError(415, 'media.unsupported_image', 'upload a JPEG, PNG, WebP, GIF or AVIF image');
const corrupt = () => new AppError(422, 'media.corrupt_image', 'the image could not be decoded; it may be damaged or incomplete');
const tooManyPixels = () => new AppError(413, 'media.image_too_large', `the image has more than ${MAX_INPUT_PIXELS / 1_000_000} megapixels`);
const isPixelLimit = (err: unknown) => /pixel limit/i.test(String((err as Error)?.message));

export interface RenderedImage {
  width: number;
  height: number;
  renditions: Record<string, Buffer>;
}

/**
 * Post images go through the avatar pipeline's guards (format sniffed from the bytes before libvips
 * sees them, decompression bombs refused, EXIF orientation applied by rotate() and all metadata
 * dropped), but keep their aspect ratio: renditions are by width rather than cropped squares.
 */
export async function renderPostImage(input: Buffer): Promise<RenderedImage> {
  const claimed = sniffImageFormat(input);
  if (!claimed) throw unsupported();
  const opts: SharpOptions = { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', pages: 1 };
  let meta: Metadata;
  try {
    meta = await sharp(input, opts).metadata();
  } catch (err) {
    throw isPixelLimit(err) ? tooManyPixels() : corrupt();
  }
  const decoded = meta.format === 'heif' ? (meta.compression === 'av1' ? 'avif' : 'heic') : meta.format;
  if (decoded !== claimed) throw unsupported();
  if (!meta.width || !meta.height) throw corrupt();
  if (meta.width * meta.height > MAX_INPUT_PIXELS) throw tooManyPixels();
  // Orientations 5-8 turn the picture a quarter: the displayed width is the stored height.
  const turned = (meta.orientation ?? 1) >= 5;
  const width = turned ? meta.height : meta.width;
  const height = turned ? meta.width : meta.height;
  const base = sharp(input, opts).rotate();
  try {
    const out = await Promise.all(MEDIA_WIDTHS.map((w) => base.clone().resize({ width: w, withoutEnlargement: true }).webp({ quality: 82 }).toBuffer()));
    return { width, height, renditions: Object.fromEntries(MEDIA_WIDTHS.map((w, i) => [String(w), out[i]!])) };
  } catch (err) {
    throw isPixelLimit(err) ? tooManyPixels() : corrupt();
  }
}

/** Uploads waiting to be attached to a post (POST /media, then `media: [id]` in POST /posts). */
export class MediaService {
  constructor(private readonly deps: Deps) {}

  async uploadImage(ownerId: string, input: Buffer): Promise<PresentedMedia> {
    const image = await renderPostImage(input);
    const id = uuidv7();
    const keys = Object.fromEntries(Object.keys(image.renditions).map((name) => [name, `media/${ownerId}/${id}/${name}.webp`]));
    const { storage } = this.deps;
    try {
      await Promise.all(Object.entries(image.renditions).map(([name, buf]) => storage.put(keys[name]!, buf, { contentType: 'image/webp' })));
      const [row] = await this.deps.database.db.insert(mediaAttachments).values({ id, ownerId, kind: 'image', keys, width: image.width, height: image.height }).returning();
      return presentMedia(row!, storage, this.deps.config.signedUrlTtlSeconds);
    } catch (err) {
      // Best effort: an orphaned object costs space, not correctness.
      await storage.deletePrefix(`media/${ownerId}/${id}/`).catch((e: unknown) => this.deps.logger.warn({ err: e }, 'could not delete a media upload'));
      throw err;
    }
  }
}
