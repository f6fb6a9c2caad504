import { Type } from '@sinclair/typebox';
import { servicesFor } from '../services.js';
import type { ModuleRoutes } from '../types.js';
import { channelRules } from './channels.js';
import { Connection, type ConnectionContext } from './connection.js';
import { RealtimeHub } from './hub.js';

const HEARTBEAT_MS = 30_000;
const AUTH_TIMEOUT_MS = 10_000;
const MAX_CHANNELS = 50;

/**
 * GET /api/v1/stream: the WebSocket. Each app instance has its own hub of local sockets; messages
 * reach it through the cache platform's pub/sub, so an event published on any process reaches
 * sockets on every process.
 */
export const realtimeRoutes: ModuleRoutes = async (app, { deps }) => {
  const { keys, sessionState } = servicesFor(deps);
  const hub = new RealtimeHub(deps);
  const connections = new Set<Connection>();
  const ctx: ConnectionContext = { deps, hub, keys, sessionState, rules: channelRules(deps), authTimeoutMs: AUTH_TIMEOUT_MS, maxChannels: MAX_CHANNELS };

  // Protocol-level pings: a socket that did not answer the previous one is gone (half-open TCP).
  const heartbeat = setInterval(() => {
    for (const c of connections) {
      if (!c.alive) {
        c.socket.terminate();
        continue;
      }
      c.alive = false;
      c.socket.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  app.addHook('onClose', async () => {
    clearInterval(heartbeat);
    for (const c of connections) c.close(1001, 'server shutting down');
    await hub.close();
  });

  app.get(
    '/stream',
    {
      websocket: true,
      schema: {
        tags: ['realtime'],
        summary: 'WebSocket: notifications and channels, live',
        description: [
          'Upgrade to a WebSocket, then send `{ "type": "auth", "token": "<access token>" }` first (within 10 s).',
          'The server answers `{ "type": "ready", "userId", "expiresAt" }` and sends `{ "type": "notification", "data": Notification }` as they happen.',
          'Send a fresh token the same way before `expiresAt`, or the socket closes with 4401.',
          '`{ "type": "subscribe", "channel": "post:<id>:comments" }` adds a channel (answer `subscribed`, or `error` with a code); `unsubscribe` removes it.',
          '`{ "type": "ping" }` gets `{ "type": "pong" }`. Close codes: 4400 bad message, 4401 bad/expired/revoked token, 4408 no auth in time, 1001 server shutting down.',
        ].join(' '),
        response: { 101: Type.Null({ description: 'Switching protocols' }) },
      },
    },
    (socket) => {
      const c = new Connection(socket, ctx);
      connections.add(c);
      socket.on('close', () => connections.delete(c));
      c.start();
    },
  );
};
