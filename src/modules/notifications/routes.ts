import { Type } from '@sinclair/typebox';
import { errors, IdParams, PageQuery, security } from '../posts/schemas.js';
import type { ModuleRoutes } from '../types.js';
import { NotificationPageSchema } from './present.js';
import { notificationServicesFor } from './services.js';
import { CHANNELS, NOTIFICATION_TYPES, type ChannelPrefs, type NotificationType } from './types.js';

const ChannelPrefsSchema = Type.Object({ inApp: Type.Boolean(), email: Type.Boolean(), push: Type.Boolean() }, { additionalProperties: false });
const PreferencesSchema = Type.Object(Object.fromEntries(NOTIFICATION_TYPES.map((t) => [t, ChannelPrefsSchema])), { title: 'NotificationPreferences' });
const PreferencesPatch = Type.Object(
  Object.fromEntries(NOTIFICATION_TYPES.map((t) => [t, Type.Optional(Type.Partial(ChannelPrefsSchema, { additionalProperties: false, minProperties: 1 }))])),
  { additionalProperties: false, minProperties: 1 },
);
const SubscriptionSchema = Type.Object(
  { id: Type.String({ format: 'uuid' }), endpoint: Type.String(), createdAt: Type.String({ format: 'date-time' }), lastSuccessAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) },
  { title: 'PushSubscription' },
);
const TokenQuery = Type.Object({ token: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const UnsubscribedSchema = Type.Object({ unsubscribed: Type.Boolean(), types: Type.Array(Type.String()) }, { title: 'Unsubscribed' });

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const page = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)}</title></head><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto">${body}</body></html>`;

/** In-app list, unread count, read marks, preferences, push subscriptions and email unsubscribe. */
export const notificationsRoutes: ModuleRoutes = async (app, { deps }) => {
  const { notifications, emails, push } = notificationServicesFor(deps);
  const tags = ['notifications'];
  const config = { permission: 'account.self' } as const;

  // RFC 8058: mail clients POST `List-Unsubscribe=One-Click` form-encoded. Only this plugin's routes accept forms.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.get(
    '/notifications',
    {
      config,
      schema: {
        tags,
        summary: 'Your notifications, latest activity first',
        description: 'Grouped notifications move back to the top when someone joins them. `unread=true` lists unread ones only.',
        security,
        querystring: Type.Object({ ...PageQuery, unread: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: NotificationPageSchema, ...errors(400, 401, 403) },
      },
    },
    async (req) => notifications.list(req.auth!.userId, req.query),
  );

  app.get(
    '/notifications/unread-count',
    {
      config,
      schema: {
        tags,
        summary: 'How many notifications are unread',
        security,
        response: {
          200: Type.Object({
            count: Type.Integer({ description: 'Unread notifications the list would show (same visibility rules), exact up to 99.' }),
            more: Type.Boolean({ description: 'True when there are more than `count` (show "99+").' }),
          }),
          ...errors(401, 403),
        },
      },
    },
    async (req) => notifications.unreadCount(req.auth!.userId),
  );

  app.post(
    '/notifications/:id/read',
    { config, schema: { tags, summary: 'Mark one notification read', security, params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } } },
    async (req, reply) => {
      await notifications.markRead(req.auth!.userId, req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/notifications/read-all',
    { config, schema: { tags, summary: 'Mark every notification read', security, response: { 200: Type.Object({ updated: Type.Integer() }), ...errors(401, 403) } } },
    async (req) => ({ updated: await notifications.markAllRead(req.auth!.userId) }),
  );

  app.get(
    '/notifications/preferences',
    {
      config,
      schema: { tags, summary: 'What reaches you, per type and channel', security, response: { 200: PreferencesSchema, ...errors(401, 403) } },
    },
    async (req) => notifications.preferences(req.auth!.userId),
  );

  app.patch(
    '/notifications/preferences',
    {
      config,
      schema: {
        tags,
        summary: 'Change some preferences',
        description: `Send only what changes, e.g. \`{ "like": { "email": true } }\`. Channels: ${CHANNELS.join(', ')}. Moderation notices cannot be turned off in-app or by email (422).`,
        security,
        body: PreferencesPatch,
        response: { 200: PreferencesSchema, ...errors(400, 401, 403, 422) },
      },
    },
    async (req) => notifications.updatePreferences(req.auth!.userId, req.body as Partial<Record<NotificationType, Partial<ChannelPrefs>>>),
  );

  app.get(
    '/notifications/push/public-key',
    {
      schema: {
        tags,
        summary: 'The VAPID public key browsers subscribe with (applicationServerKey)',
        response: { 200: Type.Object({ enabled: Type.Boolean(), publicKey: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async () => ({ enabled: deps.push.configured, publicKey: deps.push.publicKey ?? null }),
  );

  app.post(
    '/notifications/push/subscriptions',
    {
      config,
      schema: {
        tags,
        summary: "Register this browser's push subscription",
        description: 'The body is `PushSubscription.toJSON()` from the browser. Registering the same endpoint again updates it (and moves it to this account).',
        security,
        body: Type.Object(
          {
            endpoint: Type.String({ minLength: 10, maxLength: 2000 }),
            expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
            keys: Type.Object({ p256dh: Type.String({ maxLength: 200 }), auth: Type.String({ maxLength: 100 }) }, { additionalProperties: false }),
          },
          { additionalProperties: false },
        ),
        response: { 201: SubscriptionSchema, ...errors(400, 401, 403) },
      },
    },
    async (req, reply) => reply.code(201).send(await push.register(req.auth!.userId, req.body, req.headers['user-agent'])),
  );

  app.get(
    '/notifications/push/subscriptions',
    { config, schema: { tags, summary: 'Your push subscriptions', security, response: { 200: Type.Object({ items: Type.Array(SubscriptionSchema) }), ...errors(401, 403) } } },
    async (req) => ({ items: await push.list(req.auth!.userId) }),
  );

  app.delete(
    '/notifications/push/subscriptions/:id',
    { config, schema: { tags, summary: 'Remove a push subscription', security, params: IdParams, response: { 204: Type.Null(), ...errors(400, 401, 403, 404) } } },
    async (req, reply) => {
      await push.remove(req.auth!.userId, req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/notifications/unsubscribe',
    {
      config: { rateLimit: { max: 30, timeWindow: 60_000 } },
      schema: {
        tags,
        summary: 'Unsubscribe landing page (HTML)',
        description: 'The link in emails. Opening it changes nothing (mail scanners open links): the page has a button that POSTs.',
        querystring: TokenQuery,
        produces: ['text/html'],
        response: { 200: Type.String({ description: 'An HTML page' }), ...errors(400) },
      },
    },
    async (req, reply) => {
      const action = `?token=${encodeURIComponent(req.query.token)}`;
      return reply
        .type('text/html; charset=utf-8')
        .send(
          page(
            'Unsubscribe',
            `<h1>Stop these emails?</h1><form method="post" action="${esc(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
          ),
        );
    },
  );

  app.post(
    '/notifications/unsubscribe',
    {
      config: { rateLimit: { max: 30, timeWindow: 60_000 } },
      schema: {
        tags,
        summary: 'One-click unsubscribe (RFC 8058)',
        description: 'What mail clients POST (`List-Unsubscribe=One-Click`, form-encoded) and what the landing page button sends. A link works once (410 after) and must carry a valid signature (400).',
        querystring: TokenQuery,
        response: { 200: Type.Union([UnsubscribedSchema, Type.String({ description: 'HTML page, for the landing page form' })]), ...errors(400, 410) },
      },
    },
    async (req, reply) => {
      const { types } = await emails.unsubscribe(req.query.token);
      // The landing page's form wants a page back; mail clients and scripts get JSON.
      if (req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') && req.headers.accept?.includes('text/html')) {
        return reply.type('text/html; charset=utf-8').send(page('Unsubscribed', '<h1>You are unsubscribed</h1><p>You will not get these emails any more. Change this any time in your notification settings.</p>'));
      }
      return { unsubscribed: true, types };
    },
  );
};
