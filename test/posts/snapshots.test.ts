import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { posts } from '../../src/modules/posts/tables.js';
import { users } from '../../src/modules/users/tables.js';
import { RowSnapshots } from '../../src/platform/db/row-snapshots.js';
import { createTestEnv, type TestEnv } from '../support/app.js';
import { injectClient, signUp, type Call, type TestUser } from '../support/auth.js';
import { post, type Page, type PostBody } from './support.js';

// The hydrator keeps the post and user rows it has read, keyed by their row version (xmin), and
// reuses them while the database reports the same version. These tests change rows behind the
// application's back (plain SQL, as another process or a console would), so only the version
// check can notice: every change must show on the very next read.

let env: TestEnv;
let call: Call;
let ana: TestUser;
let mentioned: TestUser;
let viewer: TestUser;

beforeAll(async () => {
  env = await createTestEnv();
  call = injectClient(env.app);
  [ana, mentioned, viewer] = await Promise.all([signUp(call, env.dataDir), signUp(call, env.dataDir), signUp(call, env.dataDir)]);
});
afterAll(async () => env?.close());

const db = () => env.deps.database.db;
const read = async (id: string) => call('GET', `/api/v1/posts/${id}`, { token: viewer.accessToken });
const profile = async () => ((await call('GET', `/api/v1/users/${ana.username}/posts`, { token: viewer.accessToken })).body as unknown as Page).items;

describe('row snapshots behind post reads', () => {
  it('a row snapshot is used only at the version it was taken at, and the oldest entries go first', () => {
    const s = new RowSnapshots<string>(2);
    s.set('a', '10', 'A at 10');
    expect(s.get('a', '10')).toBe('A at 10');
    expect(s.get('a', '11')).toBeUndefined();
    s.set('b', '1', 'B');
    s.get('a', '10');
    s.set('c', '1', 'C');
    expect(s.get('b', '1')).toBeUndefined();
    expect(s.get('a', '10')).toBe('A at 10');
    expect(s.size).toBe(2);
  });

  it('changes to a post written straight into the database show on the next read', async () => {
    const p = await post(call, ana, { text: 'first words #before' });
    expect(((await read(p.id)).body as unknown as PostBody).text).toBe('first words #before');
    expect((await profile()).map((x) => x.id)).toContain(p.id);

    await db().update(posts).set({ text: 'second words', likeCount: 7 }).where(eq(posts.id, p.id));
    const after = (await read(p.id)).body as unknown as PostBody;
    expect(after.text).toBe('second words');
    expect(after.counts.likes).toBe(7);
    expect((await profile()).find((x) => x.id === p.id)?.counts.likes).toBe(7);

    await db().update(posts).set({ moderationState: 'removed' }).where(eq(posts.id, p.id));
    expect((await read(p.id)).status).toBe(404);
    expect((await profile()).map((x) => x.id)).not.toContain(p.id);

    await db().update(posts).set({ moderationState: 'visible', deletedAt: new Date() }).where(eq(posts.id, p.id));
    expect((await read(p.id)).status).toBe(404);
    await db().update(posts).set({ deletedAt: null }).where(eq(posts.id, p.id));
    expect((await read(p.id)).status).toBe(200);
    await db().delete(posts).where(eq(posts.id, p.id));
    expect((await read(p.id)).status).toBe(404);
  });

  it('changes to the author and to mentioned accounts show on the next read', async () => {
    const p = await post(call, ana, { text: `hi @${mentioned.username}` });
    const before = (await read(p.id)).body as unknown as PostBody;
    expect(before.mentions).toEqual([{ id: mentioned.id, username: mentioned.username }]);

    await db().update(users).set({ displayName: 'Renamed Ana' }).where(eq(users.id, ana.id));
    await db().update(users).set({ username: `${mentioned.username}x` }).where(eq(users.id, mentioned.id));
    const renamed = (await read(p.id)).body as unknown as PostBody & { author: { displayName: string } };
    expect(renamed.author.displayName).toBe('Renamed Ana');
    expect(renamed.mentions).toEqual([{ id: mentioned.id, username: `${mentioned.username}x` }]);

    await db().update(users).set({ state: 'deactivated' }).where(eq(users.id, mentioned.id));
    expect(((await read(p.id)).body as unknown as PostBody).mentions).toEqual([]);

    await db().update(users).set({ isPrivate: true }).where(eq(users.id, ana.id));
    expect((await read(p.id)).status).toBe(404);
    await db().update(users).set({ isPrivate: false }).where(eq(users.id, ana.id));
    expect((await read(p.id)).status).toBe(200);
    await db().update(users).set({ state: 'suspended', suspendedUntil: sql`now() + interval '1 day'` }).where(eq(users.id, ana.id));
    expect((await read(p.id)).status).toBe(404);
    await db().update(users).set({ state: 'active', suspendedUntil: null }).where(eq(users.id, ana.id));
    expect((await read(p.id)).status).toBe(200);
  });

  it('a quoted post read through its quote follows its own changes', async () => {
    const original = await post(call, ana, { text: 'original' });
    const quote = await post(call, viewer, { text: 'look', quoteOf: original.id });
    expect(((await read(quote.id)).body as unknown as PostBody).quoteOf?.text).toBe('original');
    await db().update(posts).set({ text: 'original, edited' }).where(eq(posts.id, original.id));
    expect(((await read(quote.id)).body as unknown as PostBody).quoteOf?.text).toBe('original, edited');
    await db().update(posts).set({ visibility: 'followers' }).where(eq(posts.id, original.id));
    const hidden = (await read(quote.id)).body as unknown as PostBody;
    expect(hidden.text).toBe('look');
    expect(hidden.quoteOf).toBeNull();
  });
});
