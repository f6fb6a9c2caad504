import { Type } from '@sinclair/typebox';
import { SelfUserSchema } from '../users/present.js';
import { MAX_PASSWORD_LENGTH } from './password-strength.js';
import { USERNAME_PATTERN } from './service.js';

export const Email = Type.String({ format: 'email', maxLength: 254, description: 'An email address' });
export const Username = Type.String({ pattern: USERNAME_PATTERN, minLength: 3, maxLength: 30, description: '3-30 letters, digits or _' });
export const Password = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH });
export const OpaqueToken = Type.String({ minLength: 16, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' });

export const TokenResponse = Type.Object(
  {
    accessToken: Type.String({ description: 'JWT (EdDSA) for Authorization: Bearer' }),
    refreshToken: Type.String({ description: 'Opaque; works once, POST it to /auth/refresh for a new pair' }),
    expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
    tokenType: Type.Literal('Bearer'),
    user: SelfUserSchema,
  },
  { title: 'TokenResponse' },
);

export const TwoFactorChallenge = Type.Object(
  {
    twoFactorRequired: Type.Literal(true),
    challengeToken: Type.String({ description: 'Send it with a code to /auth/2fa/verify within 5 minutes' }),
  },
  { title: 'TwoFactorChallenge' },
);

export const Accepted = Type.Object({ status: Type.Literal('accepted'), message: Type.String() });

export const SessionSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    userAgent: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    method: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time' }),
    current: Type.Boolean(),
  },
  { title: 'Session' },
);
