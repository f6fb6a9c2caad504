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

/** A sort position: score then id for relevance, id alone (score 0) for recent. */
export interface SearchKey {
  score: number;
  id: string;
}

export interface NameQuery {
  q: string;
  after: SearchKey | null;
  limit: number;
}

export interface HashtagHit {
  tag: string;
  posts: number;
  key: SearchKey;
}

export interface SearchBackend {
  readonly kind: string;
  posts(query: PostQuery): Promise<{ id: string; key: SearchKey }[]>;
  users(query: NameQuery): Promise<{ id: string; key: SearchKey }[]>;
  /** Keys use the tag as id. */
  hashtags(query: NameQuery): Promise<HashtagHit[]>;
}
