import { LRUCache } from 'lru-cache';
import type { Deps } from '../../platform/deps.js';
import { badRequest } from '../../platform/errors.js';
import { relationsOf } from '../graph/relations.js';
import type { PostPage, PresentedPost } from '../posts/present.js';
import { postsServicesFor } from '../posts/service.js';
import { presentPublic, type PublicUser } from '../users/present.js';
import type { PresentedVideo, VideoPage } from '../videos/present.js';
import { visibleVideoRows } from '../videos/rules.js';
import { videosServiceFor } from '../videos/service.js';
import { rankedAfter, type SearchBackend, type SearchKey, type SearchSort } from './backend.js';
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

/** Answers kept per process (a ranking is at most the backend's relevanceWindow ids, ~100 KB). */
const CACHED_ANSWERS = 256;

type Ranking = { id: string; key: SearchKey }[];

/** A video title offered while typing: open it with GET /api/v1/videos/:id. */
export interface VideoSuggestion {
  id: string;
  title: string;
}

export class SearchService {
  /**
   * Answers reused for SEARCH_CACHE_SECONDS, by query: whole relevance rankings and first pages of
   * hashtags. A relevance skeleton ranks up to relevanceWindow matches (the costly part of a
   * search: tens of milliseconds of database work for a common word); every page of it and every
   * repeat of a popular query within the period is then cut from the one ranking, and pages of one
   * ranking never shift under a reader while new posts arrive. Rankings hold ids only: hydration and
   * the rules run per request and viewer, so a post deleted, hidden or blocked since is still left
   * out; a new match shows once the ranking expires. In-flight answers are shared, so a burst of
   * one query runs it once. Null when the setting is 0.
   */
  private readonly answers: LRUCache<string, Promise<unknown>> | null;

  constructor(
    private readonly deps: Deps,
    private readonly backend: SearchBackend,
  ) {
    const seconds = deps.config.searchCacheSeconds;
    this.answers = seconds > 0 ? new LRUCache({ max: CACHED_ANSWERS, ttl: seconds * 1000 }) : null;
  }

  /** `make()`'s answer, reused for the cache period (a failure is not kept). */
  private remember<T>(key: string, make: () => Promise<T>): Promise<T> {
    const answers = this.answers;
    if (!answers) return make();
    let answer = answers.get(key) as Promise<T> | undefined;
    if (!answer) {
      const made = make();
      answers.set(key, made);
      made.catch(() => answers.get(key) === made && answers.delete(key));
      answer = made;
    }
    return answer;
  }

  /**
   * The skeleton of a relevance search: pages cut from the query's remembered ranking (the
   * backend's first `relevanceWindow` rows), or `page` itself when nothing is remembered.
   */
  private ranked(key: string, page: (after: SearchKey | null, n: number) => Promise<Ranking>): (after: SearchKey | null, n: number) => Promise<Ranking> {
    if (!this.answers) return page;
    return async (after, n) => {
      const all = await this.remember(key, () => page(null, this.backend.relevanceWindow));
      const start = after ? all.findIndex((r) => rankedAfter(r.key, after)) : 0;
      return start < 0 ? [] : all.slice(start, start + n);
    };
  }

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
    const want = (t: SearchType) => input.type === 'all' || input.type === t;
    const cursor = input.cursor;
    // Keys first (a bad cursor is a 400 before any work), then the kinds asked for, side by side.
    const postsAfter = want('posts') && cursor ? decodeKey(cursor, UUID) : null;
    if (postsAfter && input.sort === 'recent' && postsAfter.score !== 0) throw invalidCursor();
    const videosAfter = want('videos') && cursor ? decodeKey(cursor, UUID) : null;
    // A recent-order video key is a publication time in microseconds: a whole, positive number.
    if (videosAfter && input.sort === 'recent' && !(Number.isSafeInteger(videosAfter.score) && videosAfter.score > 0)) throw invalidCursor();
    const usersAfter = want('users') && cursor ? decodeKey(cursor, UUID) : null;
    const tagQ = q.replace(/^#+/, '');
    const tagsAfter = want('hashtags') && cursor ? decodeKey(cursor, TAG) : null;
    const [posts, videos, users, hashtags] = await Promise.all([
      want('posts') ? this.posts(viewerId, { q, sort: input.sort, since, until, limit: input.limit }, postsAfter) : undefined,
      want('videos') ? this.videos(viewerId, { q, sort: input.sort, since, until, minDuration, maxDuration, limit: input.limit }, videosAfter) : undefined,
      want('users') ? this.users(viewerId, q, input.limit, usersAfter) : undefined,
      want('hashtags') ? (tagQ ? this.hashtags(tagQ, input.limit, tagsAfter) : { items: [], nextCursor: null }) : undefined,
    ]);
    const out: SearchResult = {};
    if (posts) out.posts = posts;
    if (videos) out.videos = videos;
    if (users) out.users = users;
    if (hashtags) out.hashtags = hashtags;
    return out;
  }

  /**
   * As-you-type: a few accounts and hashtags whose names start with or resemble q, and video titles
   * whose words match what was typed (the last word as a prefix), under the viewer's video rules.
   */
  async suggest(viewerId: string | null, raw: string): Promise<{ users: PublicUser[]; hashtags: HashtagResult[]; videos: VideoSuggestion[] }> {
    const q = normaliseQuery(raw).replace(/^[@#]+/, '');
    if (!q) return { users: [], hashtags: [], videos: [] };
    // A few spare video ids: the rules below may drop some (followers-only, blocked or muted creators).
    const [users, hashtags, ids] = await Promise.all([this.users(viewerId, q, 5, null), this.hashtags(q, 5, null), this.backend.videoSuggestions({ q, viewerId, limit: 10 })]);
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
    const page = (a: SearchKey | null, n: number) => this.backend.posts({ ...q, after: a, limit: n });
    const skeleton = q.sort === 'relevance' ? this.ranked(`posts ${JSON.stringify([q.q, q.since, q.until])}`, page) : page;
    return pageOf<PresentedPost>(
      skeleton,
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
    // The backend's video skeleton depends on the viewer (their own private videos): one ranking per viewer.
    const page = (a: SearchKey | null, n: number) => this.backend.videos({ ...q, viewerId, after: a, limit: n });
    const skeleton = q.sort === 'relevance' ? this.ranked(`videos ${JSON.stringify([viewerId, q.q, q.since, q.until, q.minDuration, q.maxDuration])}`, page) : page;
    return pageOf<PresentedVideo>(
      skeleton,
      (ids) => videos.present(viewerId, ids, 'list'),
      q.limit,
      after,
    );
  }

  private users(viewerId: string | null, q: string, limit: number, after: SearchKey | null): Promise<Page<PublicUser>> {
    const { users } = postsServicesFor(this.deps);
    const ttl = this.deps.config.signedUrlTtlSeconds;
    // First pages of people are what as-you-type asks for, over and over: remembered like rankings
    // (ids only; the block rule and presentation run per request).
    return pageOf<PublicUser>(
      (a, n) => (a ? this.backend.users({ q, after: a, limit: n }) : this.remember(`users ${JSON.stringify([q, n])}`, () => this.backend.users({ q, after: a, limit: n }))),
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
    const query = { q: q.toLowerCase(), after, limit: limit + 1 };
    // First pages are what as-you-type asks for, over and over: remembered like rankings.
    const rows = after ? await this.backend.hashtags(query) : await this.remember(`hashtags ${JSON.stringify([query.q, query.limit])}`, () => this.backend.hashtags(query));
    const items = rows.slice(0, limit).map((r) => ({ tag: r.tag, posts: r.posts }));
    return { items, nextCursor: rows.length > limit ? encodeKey(rows[limit - 1]!.key) : null };
  }
}

const built = new WeakMap<Deps, SearchService>();

/** One per Deps; the backend is PostgreSQL (the only one so far: see backend.ts). */
export function searchServiceFor(deps: Deps): SearchService {
  let s = built.get(deps);
  if (!s) built.set(deps, (s = new SearchService(deps, new PostgresSearchBackend(deps.database, { wordSeconds: deps.config.searchCacheSeconds }))));
  return s;
}
