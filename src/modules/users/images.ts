import { and, eq, ne } from 'drizzle-orm';
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { uuidv7 } from 'uuidv7';
import type { Deps } from '../../platform/deps.js';
import { AppError, unauthorized } from '../../platform/errors.js';
import { users, type ImageSet, type UserRow } from './tables.js';

export type ImageKind = 'avatar' | 'banner';
export type ImageSize = keyof ImageSet;
export const IMAGE_SIZES: readonly ImageSize[] = ['small', 'medium', 'large'];

/** Fixed output sizes, so clients can lay pages out before the images arrive. */
export const RENDITIONS: Record<ImageKind, Record<ImageSize, { width: number; height: number }>> = {
  avatar: { small: { width: 64, height: 64 }, medium: { width: 256, height: 256 }, large: { width: 512, height: 512 } },
  banner: { small: { width: 640, height: 213 }, medium: { width: 1280, height: 427 }, large: { width: 1920, height: 640 } },
};

/**
 * A few kilobytes of PNG can declare 50000x50000 pixels and need gigabytes once decoded: anything
 * past this is refused before decoding (a decompression bomb), whatever its byte size.
 */
export const MAX_INPUT_PIXELS = 40_000_000;

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif';

const ascii = (b: Buffer, start: number, end: number) => b.subarray(start, end).toString('latin1');

/**
 * The format the bytes claim by their signature, or null. Checked before sharp sees the input so
 * that libvips' other loaders (SVG, TIFF, PDF, raw ...) never parse untrusted uploads; the
 * Content-Type header and file name are never consulted.
 */
export function sniffImageFormat(b: Buffer): ImageFormat | null {
  if (b.length < 12) return null;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (ascii(b, 4, 8) === 'ftyp') {
    // ISO BMFF: the major brand, then compatible brands up to the end of the ftyp box. HEIC shares
    // the container, so only files that say they are AVIF pass.
    const boxEnd = Math.min(b.readUInt32BE(0), b.length, 256);
    for (let i = 8; i + 4 <= boxEnd; i += 4) {
      if (i === 12) continue; // minor version, not a brand
      const brand = ascii(b, i, i + 4);
      if (brand === 'avif' || brand === 'avis') return 'avif';
    }
  }
  return null;
}

export const unsupportedImage = () => new AppError(415, 'profile.unsupported_image', 'upload a JPEG, PNG, WebP, GIF or AVIF image');
export const imageTooLarge = (detail: string) => new AppError(413, 'profile.image_too_large', detail);
const corruptImage = () => new AppError(422, 'profile.corrupt_image', 'the image could not be decoded; it may be damaged or incomplete');
const tooManyPixels = () => imageTooLarge(`the image has more than ${MAX_INPUT_PIXELS / 1_000_000} megapixels`);

const isPixelLimit = (err: unknown) => /pixel limit/i.test(String((err as Error)?.message));

/**
 * Decode an upload and make the three WebP renditions of an avatar or banner. Orientation from
 * EXIF is applied first (`rotate()`), then every piece of metadata (EXIF with its GPS position,
 * XMP, comments) is left behind: sharp writes none unless asked with withMetadata.
 */
export async function renderImageSet(input: Buffer, kind: ImageKind): Promise<Record<ImageSize, Buffer>> {
  const claimed = sniffImageFormat(input);
  if (!claimed) throw unsupportedImage();
  // failOn 'error': truncated or broken pixel data is refused, while the harmless warnings many
  // cameras' JPEGs raise are not. pages 1: the first frame of an animated GIF or WebP.
  const opts: SharpOptions = { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', pages: 1 };
  let meta: Metadata;
  try {
    meta = await sharp(input, opts).metadata();
  } catch (err) {
    throw isPixelLimit(err) ? tooManyPixels() : corruptImage();
  }
  const decoded = meta.format === 'heif' ? (meta.compression === 'av1' ? 'avif' : 'heic') : meta.format;
  if (decoded !== claimed) throw unsupportedImage();
  if (!meta.width || !meta.height) throw corruptImage();
  if (meta.width * meta.height > MAX_INPUT_PIXELS) throw tooManyPixels();

  const base = sharp(input, opts).rotate();
  try {
    const out = await Promise.all(
      IMAGE_SIZES.map((size) => {
        const { width, height } = RENDITIONS[kind][size];
        return base.clone().resize(width, height, { fit: 'cover' }).webp({ quality: 82 }).toBuffer();
      }),
    );
    return { small: out[0]!, medium: out[1]!, large: out[2]! };
  } catch (err) {
    throw isPixelLimit(err) ? tooManyPixels() : corruptImage();
  }
}

/** Storage keys of one upload: a new id each time, so a cached URL never shows a replaced image. */
export function imageKeys(userId: string, kind: ImageKind, uploadId: string): ImageSet {
  const prefix = `users/${userId}/${kind}/${uploadId}`;
  return { small: `${prefix}/small.webp`, medium: `${prefix}/medium.webp`, large: `${prefix}/large.webp` };
}

/** Avatars and banners: decode, store the renditions, point the account at them, drop the old ones. */
export class ProfileImages {
  constructor(private readonly deps: Deps) {}

  /** Store a new image for the account; nothing is stored when the input is refused. */
  async replace(userId: string, kind: ImageKind, input: Buffer): Promise<UserRow> {
    const rendered = await renderImageSet(input, kind);
    const keys = imageKeys(userId, kind, uuidv7());
    const { storage } = this.deps;
    try {
      await Promise.all(IMAGE_SIZES.map((size) => storage.put(keys[size], rendered[size], { contentType: 'image/webp' })));
    } catch (err) {
      await this.discard(keys);
      throw err;
    }
    let result: { row: UserRow; old: ImageSet | null } | undefined;
    try {
      result = await this.swap(userId, kind, keys);
    } catch (err) {
      await this.discard(keys);
      throw err;
    }
    if (!result) {
      await this.discard(keys);
      throw unauthorized('auth.required', 'sign in again');
    }
    // Only after the account points at the new set, so a failure above never leaves it without one.
    if (result.old) await this.discard(result.old);
    return result.row;
  }

  async remove(userId: string, kind: ImageKind): Promise<UserRow> {
    const result = await this.swap(userId, kind, null);
    if (!result) throw unauthorized('auth.required', 'sign in again');
    if (result.old) await this.discard(result.old);
    return result.row;
  }

  /**
   * Point the account at a new set (or none) and return the one it replaces. The row is locked so
   * two uploads racing each see the other's set as the old one, and neither set is leaked.
   */
  private async swap(userId: string, kind: ImageKind, next: ImageSet | null): Promise<{ row: UserRow; old: ImageSet | null } | undefined> {
    return this.deps.database.transaction(async (tx) => {
      const [current] = await tx
        .select({ avatar: users.avatar, banner: users.banner })
        .from(users)
        .where(and(eq(users.id, userId), ne(users.state, 'deleted')))
        .for('update');
      if (!current) return undefined;
      const [row] = await tx
        .update(users)
        .set({ ...(kind === 'avatar' ? { avatar: next } : { banner: next }), updatedAt: new Date() })
        .where(eq(users.id, userId))
        .returning();
      return { row: row!, old: current[kind] ?? null };
    });
  }

  /** Best effort: an object left behind costs space, not correctness, so it must not fail the request. */
  private async discard(set: ImageSet): Promise<void> {
    await Promise.all(
      IMAGE_SIZES.map((size) => this.deps.storage.delete(set[size]).catch((err: unknown) => this.deps.logger.warn({ err, key: set[size] }, 'could not delete a profile image'))),
    );
  }
}
