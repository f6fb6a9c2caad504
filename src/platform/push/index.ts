import webpush from 'web-push';

export interface VapidConfig {
  publicKey: string;
  privateKey: string;
  /** mailto: or https: contact the push services may use to reach the operator. */
  subject: string;
}

/** A browser's PushSubscription, as its service worker hands it over. */
export interface PushTarget {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface PushOptions {
  ttlSeconds?: number;
  urgency?: 'very-low' | 'low' | 'normal' | 'high';
  /** Replaces an undelivered message with the same topic (e.g. one grouped notification). */
  topic?: string;
}

export type PushResult = { ok: true; status: number } | { ok: false; gone: true; status: number };

/** A push service answered with something other than success or "gone": the job queue retries it. */
export class PushError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'PushError';
  }
}

/**
 * Web push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291). The
 * web-push library builds the request (signs the JWT, encrypts the payload); it is sent with
 * fetch, so any endpoint URL works and the answer is ours to interpret: 404/410 mean the
 * subscription is gone for good, anything else unsuccessful is an error worth retrying.
 */
export interface PushSender {
  /** False without VAPID keys: subscriptions are stored, nothing is sent. */
  readonly configured: boolean;
  readonly publicKey: string | undefined;
  send(target: PushTarget, payload: string, opts?: PushOptions): Promise<PushResult>;
}

export function createPushSender(vapid: VapidConfig | undefined, timeoutMs = 10_000): PushSender {
  return {
    configured: vapid !== undefined,
    publicKey: vapid?.publicKey,
    async send(target, payload, opts = {}) {
      if (!vapid) throw new PushError(0, 'web push is not configured (VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY)');
      const details = webpush.generateRequestDetails(target, payload, {
        vapidDetails: vapid,
        TTL: opts.ttlSeconds ?? 24 * 3600,
        contentEncoding: 'aes128gcm',
        ...(opts.urgency ? { urgency: opts.urgency } : {}),
        ...(opts.topic ? { topic: opts.topic } : {}),
      });
      const headers: Record<string, string> = {};
      // fetch computes Content-Length itself.
      for (const [k, v] of Object.entries(details.headers)) if (k.toLowerCase() !== 'content-length') headers[k] = String(v);
      const res = await fetch(details.endpoint, {
        method: details.method,
        headers,
        body: details.body ?? undefined,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 404 || res.status === 410) return { ok: false, gone: true, status: res.status };
      if (res.status < 200 || res.status >= 300) throw new PushError(res.status, `push service answered ${res.status}`);
      return { ok: true, status: res.status };
    },
  };
}

/** A fresh VAPID key pair (base64url), for `social-flow doctor --generate-vapid`. */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  return webpush.generateVAPIDKeys();
}
