import type { WebSocket } from 'ws';
import type { Deps } from '../../platform/deps.js';
import type { SigningKeys } from '../auth/keys.js';
import { effectiveState, type SessionState } from '../auth/session-state.js';
import { checkChannel, type ChannelRule } from './channels.js';
import type { RealtimeHub, Subscriber } from './hub.js';
import { userChannel } from './publish.js';

/** WebSocket close codes of /api/v1/stream (4000-4999 are the application's own). */
export const CLOSE = {
  shuttingDown: 1001,
  /** A message that is not JSON, has no known type, or is too large. */
  badMessage: 4400,
  /** Bad, expired or revoked token, or an inactive account. */
  unauthorized: 4401,
  /** No auth message in time. */
  authTimeout: 4408,
} as const;

export interface ConnectionContext {
  deps: Deps;
  hub: RealtimeHub;
  keys: SigningKeys;
  sessionState: SessionState;
  rules: ChannelRule[];
  authTimeoutMs: number;
  maxChannels: number;
}

type ClientMessage = { type: 'auth'; token: string } | { type: 'subscribe' | 'unsubscribe'; channel: string } | { type: 'ping' };

function parse(text: string): ClientMessage | null {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return null;
  }
  if (!m || typeof m !== 'object') return null;
  const o = m as Record<string, unknown>;
  if (o.type === 'auth' && typeof o.token === 'string' && o.token.length < 4096) return { type: 'auth', token: o.token };
  if ((o.type === 'subscribe' || o.type === 'unsubscribe') && typeof o.channel === 'string' && o.channel.length < 200) return { type: o.type, channel: o.channel };
  if (o.type === 'ping') return { type: 'ping' };
  return null;
}

/**
 * One client socket. Browsers cannot set headers on a WebSocket, so the access token comes as the
 * first message; it is checked like a Bearer header (signature, expiry, live session, active
 * account) and the socket is closed with 4401 when it expires unless the client sent a fresh
 * token before. Messages are handled one at a time, in order.
 */
export class Connection implements Subscriber {
  userId: string | null = null;
  /** Cleared by each heartbeat, set by the pong: a socket that misses one round is dropped. */
  alive = true;
  private channels = new Set<string>();
  private authTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    readonly socket: WebSocket,
    private readonly ctx: ConnectionContext,
  ) {}

  start(): void {
    this.authTimer = setTimeout(() => this.close(CLOSE.authTimeout, 'send {"type":"auth","token":...} first'), this.ctx.authTimeoutMs);
    this.socket.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      this.queue = this.queue.then(() => this.handle(text)).catch((err: unknown) => {
        this.ctx.deps.logger.warn({ err }, 'realtime message failed');
        this.send(JSON.stringify({ type: 'error', code: 'realtime.internal', message: 'something went wrong; try again' }));
      });
    });
    this.socket.on('pong', () => (this.alive = true));
    this.socket.on('close', () => void this.cleanup());
    this.socket.on('error', () => void this.cleanup());
  }

  send(text: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }

  private reply(msg: Record<string, unknown>): void {
    this.send(JSON.stringify(msg));
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.socket.close(code, reason);
    void this.cleanup();
  }

  private async cleanup(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
    const channels = [...this.channels];
    this.channels.clear();
    await Promise.all(channels.map((c) => this.ctx.hub.leave(c, this)));
  }

  private async handle(text: string | null): Promise<void> {
    if (this.closed) return;
    const msg = text === null ? null : parse(text);
    if (!msg) return this.close(CLOSE.badMessage, 'messages are JSON objects with a known type');
    if (msg.type === 'auth') return this.authenticate(msg.token);
    if (!this.userId) return this.close(CLOSE.unauthorized, 'authenticate first');
    if (msg.type === 'ping') return this.reply({ type: 'pong' });
    if (msg.type === 'unsubscribe') {
      if (this.channels.delete(msg.channel)) await this.ctx.hub.leave(msg.channel, this);
      return this.reply({ type: 'unsubscribed', channel: msg.channel });
    }
    if (this.channels.has(msg.channel)) return this.reply({ type: 'subscribed', channel: msg.channel });
    if (this.channels.size >= this.ctx.maxChannels) return this.reply({ type: 'error', code: 'realtime.too_many_channels', channel: msg.channel, message: `at most ${this.ctx.maxChannels} channels per connection` });
    const check = await checkChannel(this.ctx.rules, this.userId, msg.channel);
    if (!check.ok) return this.reply({ type: 'error', code: check.code, channel: msg.channel, message: check.message });
    if (this.closed) return;
    this.channels.add(msg.channel);
    await this.ctx.hub.join(msg.channel, this);
    this.reply({ type: 'subscribed', channel: msg.channel });
  }

  private async authenticate(token: string): Promise<void> {
    let claims;
    try {
      claims = await this.ctx.keys.verify(token);
    } catch (err) {
      const expired = /exp/.test((err as Error).message);
      return this.close(CLOSE.unauthorized, expired ? 'auth.token_expired: refresh the access token' : 'auth.invalid_token');
    }
    if (this.userId && claims.sub !== this.userId) return this.close(CLOSE.unauthorized, 'auth.invalid_token: the token is for another account');
    const [live, account] = await Promise.all([this.ctx.sessionState.sessionLive(claims.sid, claims.sub), this.ctx.sessionState.account(claims.sub)]);
    if (!live) return this.close(CLOSE.unauthorized, 'auth.session_revoked');
    if (!account || effectiveState(account.state, account.suspendedUntil) !== 'active') return this.close(CLOSE.unauthorized, 'auth.account_inactive');
    if (this.closed) return;
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
    const expiresAt = (claims.exp ?? 0) * 1000;
    // Re-checked at expiry: a client that wants to stay sends a fresh token before this fires.
    this.expiryTimer = setTimeout(() => this.close(CLOSE.unauthorized, 'auth.token_expired: send a fresh token before expiry'), Math.max(0, expiresAt - Date.now()));
    const first = this.userId === null;
    this.userId = claims.sub;
    if (first) {
      const own = userChannel(claims.sub);
      this.channels.add(own);
      await this.ctx.hub.join(own, this);
    }
    this.reply({ type: 'ready', userId: claims.sub, expiresAt: new Date(expiresAt).toISOString() });
  }
}
