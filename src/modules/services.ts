import type { Deps } from '../platform/deps.js';
import { SigningKeys } from './auth/keys.js';
import { AuthService } from './auth/service.js';
import { SessionState } from './auth/session-state.js';
import { TwoFactorService } from './auth/two-factor.js';

/** The domain services of one process, built once per Deps (routes and jobs share them). */
export interface Services {
  keys: SigningKeys;
  sessionState: SessionState;
  auth: AuthService;
  twoFactor: TwoFactorService;
}

const built = new WeakMap<Deps, Services>();

export function servicesFor(deps: Deps): Services {
  let s = built.get(deps);
  if (!s) {
    const db = deps.database.db;
    const keys = new SigningKeys(db, deps.config.secretKey, {
      issuer: deps.config.publicUrl,
      accessTtlSeconds: deps.config.auth.accessTokenTtlSeconds,
      rotationDays: deps.config.auth.keyRotationDays,
    });
    const sessionState = new SessionState(db, deps.cache.cache);
    const auth = new AuthService(deps, keys, sessionState);
    s = { keys, sessionState, auth, twoFactor: new TwoFactorService(deps, auth.throttle) };
    built.set(deps, s);
  }
  return s;
}
