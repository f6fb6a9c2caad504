import { expect } from 'vitest';
import { blocks, follows, mutes } from '../../src/modules/graph/tables.js';
import { ViewerRelations } from '../../src/modules/graph/viewer-relations.js';
import type { Deps } from '../../src/platform/deps.js';
import type { Call, TestUser } from '../support/auth.js';

export type Res = Awaited<ReturnType<Call>>;
export interface PostBody {
  id: string;
  text: string;
  visibility: string;
  replyTo: string | null;
  rootId: string | null;
  quoteOf: PostBody | null;
  repostOf: PostBody | null;
  hashtags: string[];
  mentions: { id: string; username: string }[];
  media: { id: string; kind: string; urls: Record<string, string> }[];
  counts: { likes: number; replies: number; reposts: number; quotes: number };
  viewer: { liked: boolean; saved: boolean; reposted: boolean } | null;
  author: { id: string; username: string };
  editedAt: string | null;
}
export interface Page {
  items: PostBody[];
  nextCursor: string | null;
}

/**
 * Mark a change written straight into the graph tables, as GraphService does after each of its
 * changes: the viewers' cached relation sets (graph/viewer-relations.ts) are read again.
 */
export const relationsChanged = (deps: Deps, ...users: { id: string }[]) => new ViewerRelations(deps.database.db, deps.cache.cache).changed(users.map((u) => u.id));

/**
 * Relations set up in the graph tables directly (a follow without the request flow of private
 * accounts, a block that keeps the follow rows), so the read rules alone are what is tested.
 */
export const graph = (deps: Deps) => ({
  follow: async (a: TestUser, b: TestUser) => {
    await deps.database.db.insert(follows).values({ followerId: a.id, followeeId: b.id }).onConflictDoNothing();
    await relationsChanged(deps, a);
  },
  block: async (a: TestUser, b: TestUser) => {
    await deps.database.db.insert(blocks).values({ blockerId: a.id, blockedId: b.id }).onConflictDoNothing();
    await relationsChanged(deps, a, b);
  },
  mute: async (a: TestUser, b: TestUser) => {
    await deps.database.db.insert(mutes).values({ muterId: a.id, mutedId: b.id }).onConflictDoNothing();
    await relationsChanged(deps, a);
  },
});

export async function post(call: Call, u: TestUser, body: Record<string, unknown>): Promise<PostBody> {
  const res = await call('POST', '/api/v1/posts', { token: u.accessToken, body });
  if (res.status !== 201) throw new Error(`post failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as PostBody;
}

export function expect4xx(res: Res, status?: number) {
  if (status) expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(String(res.headers['content-type'])).toMatch(/application\/problem\+json/);
  expect(res.body.code).toEqual(expect.any(String));
}

export const ids = (page: Res) => ((page.body as unknown as Page).items ?? []).map((p) => p.id);

/** Every page of a list, following nextCursor. */
export async function allPages(call: Call, url: string, token?: string, limit = 3): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const sep = url.includes('?') ? '&' : '?';
    const res = await call('GET', `${url}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const page = res.body as unknown as Page;
    out.push(...page.items.map((p) => p.id));
    cursor = page.nextCursor;
    if (!cursor) return out;
  }
  throw new Error('too many pages');
}
