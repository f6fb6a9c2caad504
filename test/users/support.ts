import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import sharp from 'sharp';
import type { Storage } from '../../src/platform/storage/types.js';

export interface FormPart {
  name: string;
  data: Buffer | string;
  /** Set for a file part. */
  filename?: string;
  contentType?: string;
}

/** A multipart/form-data body built by hand, so tests control every byte and header (inject has no FormData). */
export function formData(parts: FormPart[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----sftest${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export const filePart = (data: Buffer | string, filename = 'image.jpg', contentType = 'image/jpeg'): FormPart => ({ name: 'file', data, filename, contentType });

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export const readObject = async (storage: Storage, key: string) => readAll(await storage.get(key));

export const storedKeys = async (storage: Storage, userId: string) => (await storage.list(`users/${userId}/`)).map((o) => o.key).sort();

/** A noisy photo-like image (noise keeps encoders from making it trivially small). */
export const photo = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } });

export const solid = (width: number, height: number, colour = '#3366cc') => sharp({ create: { width, height, channels: 3, background: colour } });
