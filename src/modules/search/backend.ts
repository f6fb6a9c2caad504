/**
 * What the search service asks of an index. The PostgreSQL backend (postgres.ts) answers from the
 * product's own tables with weighted full-text search and pg_trgm; an OpenSearch/Elasticsearch
 * backend would implement the same methods over its own index (fed by the domain events the posts
 * and videos modules publish) and be chosen by configuration. Backends return skeletons only:
 * ids with their sort keys. Hydration and the visibility rules stay in the service, so no backend
 * can leak a hidden item.
 */
export type SearchSort = 'relevance' | 'recent';

export interface PostQuery {
  q: string;
  sort: SearchSort;
  since?: Date | undefined;
  until?: Date | undefined;
  /** The key of the last row of the previous page (keyset). */
  after: SearchKey | null;
  limit: number;
}

/**
 * A sort position: score then id for relevance; for recent, posts key on the id alone (score 0)
 * and videos on the publication time (microseconds since the epoch) then id.
 */
export interface SearchKey {
  score: number;
  id: string;
}

/** Whether `k` comes after `after` in a relevance ranking's order (score descending, then id descending). */
export const rankedAfter = (k: SearchKey, after: SearchKey): boolean => k.score < after.score || (k.score === after.score && k.id < after.id);

export interface VideoQuery {
  q: string;
  sort: SearchSort;
  /** On the publication time (when the video became watchable). */
  since?: Date | undefined;
  until?: Date | undefined;
  /** Seconds, inclusive. */
  minDuration?: number | undefined;
  maxDuration?: number | undefined;
  /**
   * Lets a backend leave out other people's private videos early (the rules drop them anyway; this
   * only saves skeleton rounds). Null: anonymous.
   */
  viewerId: string | null;
  after: SearchKey | null;
  limit: number;
}

export interface NameQuery {
  q: string;
  after: SearchKey | null;
  limit: number;
}

export interface SuggestQuery {
  /** What has been typed so far: the last word may be incomplete. */
  q: string;
  viewerId: string | null;
  limit: number;
}

export interface HashtagHit {
  tag: string;
  posts: number;
  key: SearchKey;
}

export interface SearchBackend {
  readonly kind: string;
  /**
   * The most matches a relevance ranking holds (the PostgreSQL backend ranks the newest this many):
   * asked for that many rows with no `after`, posts() and videos() return the whole ranking, which
   * the service may keep and page through itself (SEARCH_CACHE_SECONDS).
   */
  readonly relevanceWindow: number;
  posts(query: PostQuery): Promise<{ id: string; key: SearchKey }[]>;
  /** Finished (`ready`), listed, unmoderated videos only; the service applies the viewer's rules. */
  videos(query: VideoQuery): Promise<{ id: string; key: SearchKey }[]>;
  /** Video ids for as-you-type suggestions, best first: the last word matches as a prefix. Same filters as videos(). */
  videoSuggestions(query: SuggestQuery): Promise<string[]>;
  users(query: NameQuery): Promise<{ id: string; key: SearchKey }[]>;
  /** Keys use the tag as id. */
  hashtags(query: NameQuery): Promise<HashtagHit[]>;
}
