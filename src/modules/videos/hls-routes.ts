import { Type } from '@sinclair/typebox';
import { eq } from 'drizzle-orm';
import type { FastifyReply } from 'fastify';
import { AppError, notFound } from '../../platform/errors.js';
import { problemResponses as errors } from '../../platform/http/problem.js';
import { storyboardVtt } from '../../platform/media/index.js';
import type { ModuleRoutes } from '../types.js';
import { checkPlayback, masterPlaylist, playbackGate, renditionPlaylist, videoKeys } from './playback.js';
import { videos, type VideoRow } from './tables.js';

const SignedQuery = Type.Object({ exp: Type.String({ maxLength: 12 }), sig: Type.String({ maxLength: 64 }) }, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

function text(reply: FastifyReply, type: string, body: string) {
  // Private: the body holds signed links for one viewer; never in a shared cache.
  return reply.header('content-type', type).header('cache-control', 'private, max-age=5').send(body);
}

/**
 * Playlists made on request from the stored renditions, reachable only with the signed, expiring
 * query that GET /videos/:id hands to a viewer the rules allowed. No bearer token: players fetch
 * these without one.
 */
export const hlsRoutes: ModuleRoutes = async (app, { deps }) => {
  const { secretKey, publicUrl } = deps.config;
  const tags = ['videos'];

  async function signedVideo(id: string, exp: string, sig: string): Promise<VideoRow> {
    // The link is bound to the video's moderation state and age restriction (playbackGate): one
    // handed out before a hold or a restriction no longer opens it.
    const [v] = await deps.database.db.select().from(videos).where(eq(videos.id, id));
    const check = checkPlayback(secretKey, id, exp, sig, Date.now(), v ? playbackGate(v) : '');
    if (check === 'invalid') throw new AppError(403, 'videos.playback_invalid', 'this playback link is not valid');
    if (check === 'expired') throw new AppError(403, 'videos.playback_expired', 'this playback link has expired; get a new one from GET /api/v1/videos/:id');
    if (!v || v.deletedAt) throw notFound('videos.not_found', 'no such video');
    return v;
  }

  app.get(
    '/videos/:id/hls/master.m3u8',
    { schema: { tags, summary: 'HLS master playlist (signed link from GET /videos/:id)', params: IdParams, querystring: SignedQuery, response: { 200: Type.String(), ...errors(400, 403, 404) } } },
    async (req, reply) => {
      const v = await signedVideo(req.params.id, req.query.exp, req.query.sig);
      if (v.renditions.length === 0) throw notFound('videos.not_playable', 'this video has no published rendition yet');
      return text(reply, 'application/vnd.apple.mpegurl', masterPlaylist(v, `${publicUrl}/api/v1`, `exp=${req.query.exp}&sig=${req.query.sig}`));
    },
  );

  app.get(
    '/videos/:id/hls/:rendition',
    {
      schema: {
        tags,
        summary: 'HLS rendition playlist, its segments as signed storage URLs',
        params: Type.Object({ id: Type.String({ format: 'uuid' }), rendition: Type.String({ pattern: '^[0-9]{2,4}p\\.m3u8$' }) }),
        querystring: SignedQuery,
        response: { 200: Type.String(), ...errors(400, 403, 404) },
      },
    },
    async (req, reply) => {
      const v = await signedVideo(req.params.id, req.query.exp, req.query.sig);
      const height = Number(req.params.rendition.slice(0, -'p.m3u8'.length));
      // Only published renditions: a half-stored one is never reachable, even by guessing its name.
      if (!v.renditions.some((r) => r.height === height)) throw notFound('videos.rendition_not_found', 'no such rendition');
      return text(reply, 'application/vnd.apple.mpegurl', await renditionPlaylist(deps.storage, v, height, Number(req.query.exp)));
    },
  );

  app.get(
    '/videos/:id/storyboard.vtt',
    { schema: { tags, summary: 'Seek-preview thumbnails: WebVTT cues into a signed sprite image', params: IdParams, querystring: SignedQuery, response: { 200: Type.String(), ...errors(400, 403, 404) } } },
    async (req, reply) => {
      const v = await signedVideo(req.params.id, req.query.exp, req.query.sig);
      if (!v.storyboard || v.durationSeconds === null) throw notFound('videos.no_storyboard', 'this video has no storyboard yet');
      const ttl = Math.max(1, Number(req.query.exp) - Math.floor(Date.now() / 1000));
      const sprite = await deps.storage.signedUrl(videoKeys.storyboard(v.id), ttl);
      return text(reply, 'text/vtt; charset=utf-8', storyboardVtt(v.storyboard, v.durationSeconds, sprite));
    },
  );
};
