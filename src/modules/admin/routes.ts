import { Type, type TSchema } from '@sinclair/typebox';
import { badRequest } from '../../platform/errors.js';
import { problemResponses } from '../../platform/http/problem.js';
import type { ModuleRoutes } from '../types.js';
import { ACCOUNT_STATES, ROLES } from '../users/tables.js';
import { CURSOR_PATTERN } from './cursor.js';
import { AdminUserSchema, AuditEntrySchema, presentAdminUser, presentAudit } from './present.js';
import { AdminService, REASON_MAX_LENGTH, type Actor } from './service.js';


const Reason = Type.String({ minLength: 1, maxLength: REASON_MAX_LENGTH, description: 'Why: kept in the audit log (and shown to a suspended account when it signs in)' });
const RoleSchema = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  { description: 'user < creator < moderator < admin' },
);
const StateSchema = Type.Union(ACCOUNT_STATES.map((s) => Type.Literal(s)));
const UserIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 20 });
const Cursor = Type.String({ pattern: CURSOR_PATTERN, description: 'nextCursor of the previous page' });
const Page = <T extends TSchema>(item: T, title: string) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }) }, { title });

export const adminRoutes: ModuleRoutes = async (app, { deps }) => {
  const admin = new AdminService(deps);
  const ttl = deps.config.signedUrlTtlSeconds;
  const tags = ['admin'];
  const security = [{ bearerAuth: [] }];
  const present = (u: Parameters<typeof presentAdminUser>[0]) => presentAdminUser(u, deps.storage, ttl);
  const actorOf = (req: { auth: { userId: string; role: Actor['role'] } | null }): Actor => ({ userId: req.auth!.userId, role: req.auth!.role });

  app.get(
    '/admin/users',
    {
      config: { permission: 'users.read_private' },
      schema: {
        tags,
        summary: 'List and search accounts (moderators and admins)',
        description: 'Newest first. `q` matches a username, email or display-name prefix, a username or display name with a typo (trigram similarity), or an account id. `state=active` includes accounts whose suspension has run out.',
        security,
        querystring: Type.Object(
          {
            q: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            role: Type.Optional(RoleSchema),
            state: Type.Optional(StateSchema),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AdminUserSchema, 'AdminUserPage'), ...problemResponses(400, 401, 403) },
      },
    },
    async (req) => {
      const { items, nextCursor } = await admin.listUsers({ ...req.query, limit: req.query.limit ?? 20 });
      return { items: await Promise.all(items.map(present)), nextCursor };
    },
  );

  app.get(
    '/admin/users/:id',
    {
      config: { permission: 'users.read_private' },
      schema: { tags, summary: 'One account with its moderation fields', security, params: UserIdParams, response: { 200: AdminUserSchema, ...problemResponses(400, 401, 403, 404) } },
    },
    async (req) => present(await admin.getUser(req.params.id)),
  );

  app.post(
    '/admin/users/:id/role',
    {
      config: { permission: 'users.set_role' },
      schema: {
        tags,
        summary: "Change an account's role (admins)",
        description: 'Takes effect on the next request of that account. The last admin who can sign in cannot be demoted (409). Setting the role it already has changes nothing and records nothing.',
        security,
        params: UserIdParams,
        body: Type.Object({ role: RoleSchema, reason: Reason }, { additionalProperties: false }),
        response: { 200: AdminUserSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req) => present(await admin.setRole(actorOf(req), req.params.id, req.body.role, req.body.reason)),
  );

  app.post(
    '/admin/users/:id/suspend',
    {
      config: { permission: 'users.suspend' },
      schema: {
        tags,
        summary: 'Suspend an account (moderators and admins)',
        description: 'Ends every session of the account at once, so its access tokens stop working on the next request. Without `until` the suspension lasts until restored. Staff may only suspend accounts ranked below their own role.',
        security,
        params: UserIdParams,
        body: Type.Object(
          { reason: Reason, until: Type.Optional(Type.String({ format: 'date-time', description: 'When the suspension ends by itself; must be in the future' })) },
          { additionalProperties: false },
        ),
        response: { 200: AdminUserSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req) => present(await admin.suspend(actorOf(req), req.params.id, req.body)),
  );

  app.post(
    '/admin/users/:id/restore',
    {
      config: { permission: 'users.suspend' },
      schema: {
        tags,
        summary: 'Lift a suspension (moderators and admins)',
        description: 'The account can sign in again; its old sessions stay ended.',
        security,
        params: UserIdParams,
        body: Type.Object({ reason: Reason }, { additionalProperties: false }),
        response: { 200: AdminUserSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req) => present(await admin.restore(actorOf(req), req.params.id, req.body.reason)),
  );

  app.get(
    '/admin/audit-log',
    {
      config: { permission: 'audit.read' },
      schema: {
        tags,
        summary: 'Who did what to whom, when and why (admins)',
        description: 'Newest first. `targetId` needs `targetType`.',
        security,
        querystring: Type.Object(
          {
            actorId: Type.Optional(Type.String({ format: 'uuid' })),
            targetType: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
            targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            action: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            limit: Type.Optional(Limit),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AuditEntrySchema, 'AuditEntryPage'), ...problemResponses(400, 401, 403) },
      },
    },
    async (req) => {
      if (req.query.targetId !== undefined && req.query.targetType === undefined) {
        throw badRequest('request.invalid', 'targetId needs targetType (e.g. targetType=user)', { errors: [{ field: 'targetType', message: 'is required with targetId' }] });
      }
      const { items, nextCursor } = await admin.readAudit({ ...req.query, limit: req.query.limit ?? 20 });
      return { items: items.map(presentAudit), nextCursor };
    },
  );

  app.post(
    '/admin/signing-keys/rotate',
    {
      config: { permission: 'keys.rotate' },
      schema: {
        tags,
        summary: 'Start signing access tokens with a new key (admins)',
        description: 'Nobody is signed out: tokens signed by the retired key keep verifying until they expire. Other API processes pick the new key up within a minute.',
        security,
        body: Type.Optional(Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false })),
        response: { 200: Type.Object({ kid: Type.String({ description: 'Key id of the new signing key' }) }), ...problemResponses(400, 401, 403) },
      },
    },
    async (req) => ({ kid: await admin.rotateSigningKeys(actorOf(req), req.body?.reason) }),
  );
};
