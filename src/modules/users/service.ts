import { eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/index.js';
import type { Deps } from '../../platform/deps.js';
import './events.js';
import { badRequest } from '../../platform/errors.js';
import { users, type UserRow } from './tables.js';

export interface ProfilePatch {
  displayName?: string | null;
  bio?: string | null;
  links?: { label: string; url: string }[];
  isPrivate?: boolean;
}

/** Markup is refused in profile text: clients show it as text, and stored markup is a trap for any that does not. */
const MARKUP = /<\s*[a-zA-Z!/?]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function checkText(field: string, value: string | null | undefined, multiline: boolean): string | null | undefined {
  if (value === undefined || value === null) return value;
  const v = value.trim();
  if (MARKUP.test(v)) throw badRequest('profile.markup_not_allowed', `${field} cannot contain HTML`, { errors: [{ field, message: 'cannot contain HTML' }] });
  if (CONTROL.test(v) || (!multiline && /[\r\n]/.test(v))) throw badRequest('profile.invalid_characters', `${field} contains characters that are not allowed`, { errors: [{ field, message: 'contains control characters' }] });
  return v === '' ? null : v;
}

export class UsersService {
  constructor(private readonly deps: Deps) {}

  private get db() {
    return this.deps.database.db;
  }

  async byId(id: string): Promise<UserRow | undefined> {
    const [u] = await this.db.select().from(users).where(eq(users.id, id));
    return u;
  }

  /** Many accounts in one query (hydration of lists); pass a transaction to read inside it. */
  async byIds(ids: string[], ex: Executor = this.db): Promise<UserRow[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    return ex.select().from(users).where(inArray(users.id, unique));
  }

  /** Accounts named by @mentions that can be mentioned: active ones only (expired suspensions count as active). */
  async activeByUsernames(names: string[], ex: Executor = this.db): Promise<UserRow[]> {
    const lower = [...new Set(names.map((n) => n.toLowerCase()))];
    if (lower.length === 0) return [];
    const rows = await ex.select().from(users).where(inArray(sql`lower(${users.username})`, lower));
    return rows.filter((u) => u.state === 'active' || (u.state === 'suspended' && u.suspendedUntil !== null && u.suspendedUntil.getTime() <= Date.now()));
  }

  /** A profile others may see: deactivated and deleted accounts are gone from view. */
  async visibleByUsername(username: string): Promise<UserRow | undefined> {
    const [u] = await this.db.select().from(users).where(sql`lower(${users.username}) = ${username.toLowerCase()}`);
    if (!u || u.state === 'deactivated' || u.state === 'deleted') return undefined;
    return u;
  }

  async updateProfile(userId: string, patch: ProfilePatch): Promise<UserRow> {
    const set: Partial<typeof users.$inferInsert> = { updatedAt: new Date() };
    if (patch.displayName !== undefined) set.displayName = checkText('displayName', patch.displayName, false);
    if (patch.bio !== undefined) set.bio = checkText('bio', patch.bio, true);
    if (patch.links !== undefined) {
      set.links = patch.links.map((l, i) => {
        const label = checkText(`links.${i}.label`, l.label, false) ?? '';
        let url: URL;
        try {
          url = new URL(l.url);
        } catch {
          throw badRequest('profile.invalid_link', `links.${i}.url is not a URL`, { errors: [{ field: `links.${i}.url`, message: 'is not a URL' }] });
        }
        if (url.protocol !== 'https:' && url.protocol !== 'http:') {
          throw badRequest('profile.invalid_link', `links.${i}.url must be http or https`, { errors: [{ field: `links.${i}.url`, message: 'must be http or https' }] });
        }
        return { label, url: url.toString() };
      });
    }
    if (patch.isPrivate !== undefined) set.isPrivate = patch.isPrivate;
    return this.deps.database.transaction(async (tx) => {
      const [before] = await tx.select({ isPrivate: users.isPrivate }).from(users).where(eq(users.id, userId)).for('update');
      const [u] = await tx.update(users).set(set).where(eq(users.id, userId)).returning();
      // Going public means no one needs approving any more: the pending requests become follows.
      if (before?.isPrivate && u && !u.isPrivate) await this.deps.events.publish('account.went_public', { userId }, { tx });
      return u!;
    });
  }
}
