import WebSocket from 'ws';

export interface WsMessage {
  type: string;
  [k: string]: unknown;
}

/** A WebSocket test client that keeps every message and lets a test wait for one that matches. */
export class WsClient {
  readonly messages: WsMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: { match: (m: WsMessage) => boolean; resolve: (m: WsMessage) => void }[] = [];
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as WsMessage;
      this.messages.push(m);
      for (const w of [...this.waiters]) {
        if (w.match(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closed);
    });
  }

  static async connect(baseUrl: string): Promise<WsClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/v1/stream`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new WsClient(ws);
  }

  /** Connect and authenticate; resolves once the server said `ready`. */
  static async authed(baseUrl: string, token: string): Promise<WsClient> {
    const c = await WsClient.connect(baseUrl);
    c.send({ type: 'auth', token });
    await c.next((m) => m.type === 'ready');
    return c;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** The first message (already received or still to come) that matches. */
  next(match: (m: WsMessage) => boolean, timeoutMs = 60_000): Promise<WsMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { match, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          reject(new Error(`no matching message in ${timeoutMs} ms; got ${JSON.stringify(this.messages.map((x) => x.type))}`));
        }
      }, timeoutMs).unref();
    });
  }

  waitClose(timeoutMs = 60_000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      this.closeWaiters.push(resolve);
      setTimeout(() => reject(new Error('socket did not close')), timeoutMs).unref();
    });
  }

  async subscribe(channel: string): Promise<WsMessage> {
    this.send({ type: 'subscribe', channel });
    return this.next((m) => (m.type === 'subscribed' || m.type === 'error') && m.channel === channel);
  }

  close(): void {
    this.ws.close();
  }
}
