import type { FastifyInstance } from 'fastify';

/** Who is calling, set by the auth module's hook; null for anonymous requests. */
export interface AuthContext {
  userId: string;
  role: 'user' | 'creator' | 'moderator' | 'admin';
  sessionId: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
}

export function decorateAuth(app: FastifyInstance): void {
  app.decorateRequest('auth', null);
}

/** The key per-caller state is stored under: the user when signed in, else the client IP. */
export function callerScope(request: { auth: AuthContext | null; ip: string }): string {
  return request.auth ? `user:${request.auth.userId}` : `ip:${request.ip}`;
}
