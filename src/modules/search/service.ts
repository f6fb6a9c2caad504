import type { Deps } from '../../platform/deps.js';
import { badRequest } from '../../platform/errors.js';
import { relationsOf } from '../graph/relations.js';
import type { PostPage, PresentedPost } from '../posts/present.js';
import { postsServicesFor } from '../posts/service.js';
import { presentPublic, type PublicUser } from '../users/present.js';
import type { PresentedVideo, VideoPage } from '../videos/present.js';
import { visibleVideoRows } from '../videos/rules.js';
import { videosServiceFor } from '../videos/service.js';
import type { SearchBackend, SearchKey, SearchSort } from './backend.js';
import { PostgresSearchBackend } from './postgres.js';

export const SEARCH_TYPES = ['all', 'posts', 'videos', 'users', 'hashtags'] as const;
export type SearchType = (typeof SEARCH_TYPES)[number];

export interface SearchInput {
  q: string;
  type: SearchType;
  sort: SearchSort;
  since?: string | undefined;
  until?: string | undefined;
  /** Videos only: seconds, inclusive. */
  minDuration?: number | undefined;
  maxDuration?: number | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface HashtagResult {
  tag: string;
  posts: number;
}

export interface SearchResult {
  posts?: PostPage;
  videos?: VideoPage;
  users?: Page<PublicUser>;
  hashtags?: Page<HashtagResult>;
}

/** Skeleton rounds per page while the rules keep dropping rows (as the posts reader does). */
const MAX_ROUNDS = 4;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;

const invalidCursor = () => badRequest('request.invalid_cursor', 'cursor is not valid; pass back the nextCursor of a previous page', { errors: [{ field: 'cursor', message: 'is not valid' }] });

export function encodeKey(k: SearchKey): string {
  return Buffer.from(JSON.stringify([k.score, k.id]), 'utf8').toString('base64url');
}

export function decodeKey(cursor: string, idPattern: RegExp): SearchKey {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || !Number.isFinite(v[0]) || typeof v[1] !== 'string' || !idPattern.test(v[1])) throw invalidCursor();
  return { score: v[0], id: v[1] };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TAG = /^[\p{L}\p{N}_]{1,64}$/u;

/** The text that is searched for: NFC, no control or direction characters, single spaces. */
export function normaliseQuery(raw: string): string {
  return raw.normalize('NFC').replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * Keyset paging over a skeleton with rules applied after hydration; the cursor is the last key the
 * skeleton returned, so hidden rows are stepped over once and never repeat a page.
 */
async function pageOf<T>(
  skeleton: (after: SearchKey | null, n: number) => Promise<{ id: string; key: SearchKey }[]>,
  show: (ids: string[]) => Promise<Map<string, T>>,
  limit: number,
  after: SearchKey | null,
): Promise<Page<T>> {
  const items: T[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const rows = await skeleton(after, limit + 1);
    const shown = await show(rows.map((r) => r.id));
    for (const row of rows) {
      if (items.length === limit) return { items, nextCursor: encodeKey(after!) };
      after = row.key;
      const x = shown.get(row.id);
      if (x !== undefined) items.push(x);
    }
    if (rows.length <= limit) return { items, nextCursor: null };
  }
  return { items, nextCursor: after ? encodeKey(after) : null };
}

/** A video title offered while typing: open it with GET /api/v1/videos/:id. */
export interface VideoSuggestion {
  id: string;
  title: string;
}

export class SearchService {
  constructor(
    private readonly deps: Deps,
    private readonly backend: SearchBackend,
  ) {}

  async search(viewerId: string | null, input: SearchInput): Promise<SearchResult> {
    const q = normaliseQuery(input.q);
    if (!q) throw badRequest('search.empty_query', 'q needs at least one letter or digit', { errors: [{ field: 'q', message: 'is empty' }] });
    if (input.cursor !== undefined && input.type === 'all') throw badRequest('search.cursor_needs_type', 'a cursor continues one list: pass type=posts, videos, users or hashtags with it', { errors: [{ field: 'cursor', message: 'needs type' }] });
    const since = input.since ? new Date(input.since) : undefined;
    const until = input.until ? new Date(input.until) : undefined;
    if (since && until && since >= until) throw badRequest('search.invalid_range', 'since must be before until', { errors: [{ field: 'since', message: 'is not before until' }] });
    const { minDuration, maxDuration } = input;
    if (minDuration !== undefined && maxDuration !== undefined && minDuration > maxDuration)
      throw badRequest('search.invalid_duration_range', 'minDuration must not be more than maxDuration', { errors: [{ field: 'minDuration', message: 'is more than maxDuration' }] });
    const out: SearchResult = {};
    const want = (t: SearchType) => input.type === 'all' || input.type === t;
    if (want('posts')) {
      const after = input.cursor ? decodeKey(input.cursor, UUID) : null;
      if (after && input.sort === 'recent' && after.score !== 0) throw invalidCursor();
      out.posts = await this.posts(viewerId, { q, sort: input.sort, since, until, limit: input.limit }, after);
    }
    if (want('videos')) {
      const after = input.cursor ? decodeKey(input.cursor, UUID) : null;
      // A recent-order video key is a publication time in microseconds: a whole, positive number.
      if (after && input.sort === 'recent' && !(Number.isSafeInteger(after.score) && after.score > 0)) throw invalidCursor();
      out.videos = await this.videos(viewerId, { q, sort: input.sort, since, until, minDuration, maxDuration, limit: input.limit }, after);
    }
    if (want('users')) out.users = await this.users(viewerId, q, input.limit, input.cursor ? decodeKey(input.cursor, UUID) : null);
    if (want('hashtags')) {
      const tagQ = q.replace(/^#+/, '');
      out.hashtags = tagQ ? await this.hashtags(tagQ, input.limit, input.cursor ? decodeKey(input.cursor, TAG) : null) : { items: [], nextCursor: null };
    }
    return out;
  }

  /**
   * As-you-type: a few accounts and hashtags whose names start with or resemble q, and video titles
   * whose words match what was typed (the last word as a prefix), under the viewer's video rules.
   */
  async suggest(viewerId: string | null, raw: string): Promise<{ users: PublicUser[]; hashtags: HashtagResult[]; videos: VideoSuggestion[] }> {
    const q = normaliseQuery(raw).replace(/^[@#]+/, '');
    if (!q) return { users: [], hashtags: [], videos: [] };
    const [users, hashtags] = [await this.users(viewerId, q, 5, null), await this.hashtags(q, 5, null)];
    // A few spare ids: the rules below may drop some (followers-only, blocked or muted creators).
    const ids = await this.backend.videoSuggestions({ q, viewerId, limit: 10 });
    const visible = await visibleVideoRows(this.deps.database.db, viewerId, ids, 'list');
    const videos = ids
      .map((id) => visible.get(id)?.video)
      .filter((v) => v !== undefined)
      .slice(0, 5)
      .map((v) => ({ id: v.id, title: v.title }));
    return { users: users.items, hashtags: hashtags.items, videos };
  }

  private posts(viewerId: string | null, q: { q: string; sort: SearchSort; since: Date | undefined; until: Date | undefined; limit: number }, after: SearchKey | null): Promise<PostPage> {
    const { hydrator } = postsServicesFor(this.deps);
    // 'hashtag' is the discovery context: unlisted posts and muted authors stay out, as in hashtag feeds.
    return pageOf<PresentedPost>(
      (a, n) => this.backend.posts({ ...q, after: a, limit: n }),
      (ids) => hydrator.present(viewerId, ids, 'hashtag'),
      q.limit,
      after,
    );
  }

  private videos(
    viewerId: string | null,
    q: { q: string; sort: SearchSort; since: Date | undefined; until: Date | undefined; minDuration: number | undefined; maxDuration: number | undefined; limit: number },
    after: SearchKey | null,
  ): Promise<VideoPage> {
    const videos = videosServiceFor(this.deps);
    // The videos module's own rules in the `list` context: private (owner only), followers-only,
    // blocked and muted creators, inactive owners; the backend already left out unlisted,
    // unfinished and moderated videos.
    return pageOf<PresentedVideo>(
      (a, n) => this.backend.videos({ ...q, viewerId, after: a, limit: n }),
      (ids) => videos.present(viewerId, ids, 'list'),
      q.limit,
      after,
    );
  }

  private users(viewerId: string | null, q: string, limit: number, after: SearchKey | null): Promise<Page<PublicUser>> {
    const { users } = postsServicesFor(this.deps);
    const ttl = this.deps.config.signedUrlTtlSeconds;
    return pageOf<PublicUser>(
      (a, n) => this.backend.users({ q, after: a, limit: n }),
      async (ids) => {
        const [rows, rel] = await Promise.all([users.byIds(ids), relationsOf(this.deps.database.db, viewerId, ids)]);
        const out = new Map<string, PublicUser>();
        for (const u of rows) if (!rel.get(u.id)?.blocked) out.set(u.id, await presentPublic(u, this.deps.storage, ttl));
        return out;
      },
      limit,
      after,
    );
  }

  private async hashtags(q: string, limit: number, after: SearchKey | null): Promise<Page<HashtagResult>> {
    const rows = await this.backend.hashtags({ q: q.toLowerCase(), after, limit: limit + 1 });
    const items = rows.slice(0, limit).map((r) => ({ tag: r.tag, posts: r.posts }));
    return { items, nextCursor: rows.length > limit ? encodeKey(rows[limit - 1]!.key) : null };
  }
}

const built = new WeakMap<Deps, SearchService>();

/** One per Deps; the backend is PostgreSQL (the only one so far: see backend.ts). */
export function searchServiceFor(deps: Deps): SearchService {
  let s = built.get(deps);
  if (!s) built.set(deps, (s = new SearchService(deps, new PostgresSearchBackend(deps.database))));
  return s;
}
