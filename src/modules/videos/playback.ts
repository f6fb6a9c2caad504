import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Storage } from '../../platform/storage/types.js';
import type { VideoRow } from './tables.js';

/** Storage layout of one video (docs/video.md). */
export const videoKeys = {
  prefix: (id: string) => `videos/${id}/`,
  rendition: (id: string, height: number) => `videos/${id}/hls/${height}p/`,
  playlist: (id: string, height: number) => `videos/${id}/hls/${height}p/index.m3u8`,
  thumbnail: (id: string, version: string) => `videos/${id}/thumb-${version}.jpg`,
  storyboard: (id: string) => `videos/${id}/storyboard.jpg`,
};

/**
 * Playback links are HMAC-signed and expire: the app checks the signature when serving the master
 * and rendition playlists (made on request), and those playlists point at segments through the
 * storage's own signed URLs (HMAC /files/... locally, presigned on S3) that expire at the same time.
 * Holding a link is what grants access, so one is only ever handed to a viewer the rules allowed.
 */
function sign(secret: string, videoId: string, exp: number, gate: string): string {
  return createHmac('sha256', secret).update(`video-playback\n${videoId}\n${exp}${gate ? `\n${gate}` : ''}`).digest('base64url');
}

/**
 * What a link is bound to besides the video and its expiry: its moderation state and age
 * restriction when they differ from the open default (''), so a hold, a removal or an age
 * restriction makes every link handed out before it invalid at once, and a link handed to the
 * owner or a moderator of a held video stops working when the video changes state again.
 */
export function playbackGate(v: Pick<VideoRow, 'moderationState' | 'ageRestricted' | 'moderationAgeRestricted'>): string {
  const age = v.ageRestricted || v.moderationAgeRestricted;
  return v.moderationState === 'visible' && !age ? '' : `${v.moderationState}${age ? '+age' : ''}`;
}

export function playbackQuery(secret: string, videoId: string, ttlSeconds: number, nowMs = Date.now(), gate = ''): string {
  const exp = Math.floor(nowMs / 1000) + ttlSeconds;
  return `exp=${exp}&sig=${sign(secret, videoId, exp, gate)}`;
}

export type PlaybackCheck = 'valid' | 'invalid' | 'expired';

/** The signature is checked before the expiry, so a forged `exp` reads as tampering, not as an old link. */
export function checkPlayback(secret: string, videoId: string, exp: string | undefined, sig: string | undefined, nowMs = Date.now(), gate = ''): PlaybackCheck {
  if (!exp || !sig || !/^\d{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return 'invalid';
  const expected = Buffer.from(sign(secret, videoId, Number(exp), gate), 'base64url');
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return nowMs > Number(exp) * 1000 ? 'expired' : 'valid';
}

/** The master playlist: only renditions whose every file is stored are listed. */
export function masterPlaylist(v: VideoRow, base: string, query: string): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const r of [...v.renditions].sort((a, b) => a.height - b.height)) {
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${r.bandwidth},RESOLUTION=${r.width}x${r.height}`, `${base}/videos/${v.id}/hls/${r.height}p.m3u8?${query}`);
  }
  return lines.join('\n') + '\n';
}

/** A rendition playlist with each segment replaced by a signed storage URL expiring with the link. */
export async function renditionPlaylist(storage: Storage, v: VideoRow, height: number, exp: number): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await storage.get(videoKeys.playlist(v.id, height))) chunks.push(c as Buffer);
  const ttl = Math.max(1, exp - Math.floor(Date.now() / 1000));
  const dir = videoKeys.rendition(v.id, height);
  const out: string[] = [];
  for (const line of Buffer.concat(chunks).toString('utf8').split('\n')) {
    const t = line.trim();
    // ffmpeg writes bare segment names; anything else (a path, a URL) is not ours and is dropped.
    if (t !== '' && !t.startsWith('#')) {
      if (/^seg_\d{5}\.ts$/.test(t)) out.push(await storage.signedUrl(dir + t, ttl));
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}
