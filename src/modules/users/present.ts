import { Type, type Static } from '@sinclair/typebox';
import { Nullable, StringEnum } from '../../platform/http/schema-types.js';
import type { Storage } from '../../platform/storage/types.js';
import { ROLES, ACCOUNT_STATES, type ImageSet, type UserRow } from './tables.js';

const ImageUrls = Nullable(Type.Object({ small: Type.String(), medium: Type.String(), large: Type.String() }));

export const PublicUserSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    username: Type.String(),
    displayName: Nullable(Type.String()),
    bio: Nullable(Type.String()),
    links: Type.Array(Type.Object({ label: Type.String(), url: Type.String() })),
    avatar: ImageUrls,
    banner: ImageUrls,
    isPrivate: Type.Boolean(),
    role: StringEnum(ROLES),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { title: 'PublicUser' },
);
export type PublicUser = Static<typeof PublicUserSchema>;

export const SelfUserSchema = Type.Intersect(
  [
    PublicUserSchema,
    Type.Object({
      email: Type.Union([Type.String(), Type.Null()]),
      emailVerified: Type.Boolean(),
      twoFactorEnabled: Type.Boolean(),
      hasPassword: Type.Boolean(),
      state: Type.Union(ACCOUNT_STATES.map((s) => Type.Literal(s))),
    }),
  ],
  { title: 'SelfUser' },
);
export type SelfUser = Static<typeof SelfUserSchema>;

async function imageUrls(storage: Storage, set: ImageSet | null | undefined, ttl: number) {
  if (!set) return null;
  const [small, medium, large] = await Promise.all([storage.signedUrl(set.small, ttl), storage.signedUrl(set.medium, ttl), storage.signedUrl(set.large, ttl)]);
  return { small, medium, large };
}

/** What anyone may see of an account. Deleted and deactivated accounts are not presented at all (callers 404). */
export async function presentPublic(u: UserRow, storage: Storage, urlTtlSeconds: number): Promise<PublicUser> {
  const [avatar, banner] = await Promise.all([imageUrls(storage, u.avatar, urlTtlSeconds), imageUrls(storage, u.banner, urlTtlSeconds)]);
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    bio: u.bio,
    links: u.links,
    avatar,
    banner,
    isPrivate: u.isPrivate,
    role: u.role,
    createdAt: u.createdAt.toISOString(),
  };
}

/** What the account's owner sees of it. */
export async function presentSelf(u: UserRow, storage: Storage, urlTtlSeconds: number): Promise<SelfUser> {
  return {
    ...(await presentPublic(u, storage, urlTtlSeconds)),
    email: u.email,
    emailVerified: u.emailVerifiedAt !== null,
    twoFactorEnabled: u.totpEnabledAt !== null,
    hasPassword: u.passwordHash !== null,
    state: u.state,
  };
}
