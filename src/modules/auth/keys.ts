import { desc, gt, isNull, lt, or } from 'drizzle-orm';
import { SignJWT, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { uuidv7 } from 'uuidv7';
import type { Db } from '../../platform/db/index.js';
import { signingKeys } from './tables.js';
import { Sealer } from './crypto.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const AUDIENCE = 'social-flow';

export interface AccessClaims extends JWTPayload {
  sub: string;
  /** Session id: lets a revoked session's tokens be refused before they expire. */
  sid: string;
}

type VerifyKey = Awaited<ReturnType<typeof importJWK>>;

/**
 * Tokens whose signature, issuer, audience and type were checked, remembered by their exact text so
 * the Ed25519 verification (~0.15 ms, the largest single cost of an authenticated read) runs once
 * per token instead of once per request. Expiry and the signing key's validity are checked again
 * on every hit; revocation never depended on this (sessions are checked per request, guard.ts).
 */
const VERIFIED_TOKENS = 20_000;

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  publicKey: VerifyKey;
  privateKey?: VerifyKey;
  createdAt: Date;
  retiredAt: Date | null;
}

export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

/** A remembered token's expiry, checked on every use (jwtVerify checked it the first time). */
const expired = (claims: AccessClaims): boolean => claims.exp! <= Math.floor(Date.now() / 1000);

/**
 * Ed25519 signing keys for access tokens, kept in the database so every API process signs and
 * verifies with the same set. Rotation adds a key and retires the old one; a retired key keeps
 * verifying until the tokens it signed have expired, so nobody is signed out by a rotation.
 */
export class SigningKeys {
  private keys = new Map<string, LoadedKey>();
  private active: LoadedKey | undefined;
  private loadedAt = 0;
  private lastMissReload = 0;
  private readonly sealer: Sealer;
  private readonly verified = new LRUCache<string, { claims: AccessClaims; kid: string }>({ max: VERIFIED_TOKENS });

  constructor(
    private readonly db: Db,
    secretKey: string,
    private readonly opts: { issuer: string; accessTtlSeconds: number; rotationDays: number },
  ) {
    this.sealer = new Sealer(secretKey, 'signing-keys');
  }

  /** How long a retired key stays valid for verification. */
  private get verifyGraceMs(): number {
    return (this.opts.accessTtlSeconds + 300) * 1000;
  }

  async load(): Promise<void> {
    const cutoff = new Date(Date.now() - this.verifyGraceMs);
    const rows = await this.db
      .select()
      .from(signingKeys)
      .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, cutoff)))
      .orderBy(desc(signingKeys.createdAt));
    const next = new Map<string, LoadedKey>();
    for (const r of rows) {
      const publicJwk = JSON.parse(r.publicJwk) as JWK;
      const loaded: LoadedKey = { kid: r.kid, publicJwk, publicKey: await importJWK(publicJwk, 'EdDSA'), createdAt: r.createdAt, retiredAt: r.retiredAt };
      if (!r.retiredAt) loaded.privateKey = await importJWK(JSON.parse(this.sealer.open(r.privateJwk)) as JWK, 'EdDSA');
      next.set(r.kid, loaded);
    }
    this.keys = next;
    this.active = [...next.values()].find((k) => !k.retiredAt && k.privateKey);
    this.loadedAt = Date.now();
  }

  /** Make sure a signing key exists (first start) and is loaded. */
  async init(): Promise<void> {
    await this.load();
    if (!this.active) await this.rotate();
  }

  /** Create a new key and retire the others. Safe to call from several processes: each retire is idempotent. */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = uuidv7();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
    const privateJwk = await exportJWK(privateKey);
    await this.db.transaction(async (tx) => {
      await tx.update(signingKeys).set({ retiredAt: new Date() }).where(isNull(signingKeys.retiredAt));
      await tx.insert(signingKeys).values({ kid, publicJwk: JSON.stringify(publicJwk), privateJwk: this.sealer.seal(JSON.stringify(privateJwk)) });
    });
    await this.load();
    return kid;
  }

  /** Rotate when the active key is older than the rotation period; drop keys nobody can need. */
  async rotateIfDue(now = new Date()): Promise<boolean> {
    await this.load();
    let rotated = false;
    if (!this.active || now.getTime() - this.active.createdAt.getTime() > this.opts.rotationDays * 86_400_000) {
      await this.rotate();
      rotated = true;
    }
    await this.db.delete(signingKeys).where(lt(signingKeys.retiredAt, new Date(now.getTime() - this.verifyGraceMs)));
    return rotated;
  }

  private async current(): Promise<LoadedKey> {
    // Another process may have rotated: pick the new key up within a minute.
    if (!this.active || Date.now() - this.loadedAt > 60_000) await this.load();
    if (!this.active) await this.init();
    return this.active!;
  }

  async sign(claims: { sub: string; sid: string }): Promise<string> {
    const key = await this.current();
    return new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setSubject(claims.sub)
      .setIssuer(this.opts.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setJti(uuidv7())
      .setExpirationTime(`${this.opts.accessTtlSeconds}s`)
      .sign(key.privateKey!);
  }

  private async keyFor(kid: string | undefined): Promise<LoadedKey> {
    if (!kid) throw new InvalidTokenError('token has no key id');
    let key = this.keys.get(kid);
    // An unknown kid may be a key another process just made; reload at most every 5 s so a flood
    // of forged kids cannot turn into a flood of queries.
    if (!key && Date.now() - this.lastMissReload > 5000) {
      this.lastMissReload = Date.now();
      await this.load();
      key = this.keys.get(kid);
    }
    if (!key) throw new InvalidTokenError('token signed with an unknown key');
    if (key.retiredAt && Date.now() - key.retiredAt.getTime() > this.verifyGraceMs) throw new InvalidTokenError('token signed with an expired key');
    return key;
  }

  /**
   * The claims of a token `verify` accepted before and that has not expired, without any other
   * check: for starting work that `verify` must still approve (the guard's prefetch). Undefined otherwise.
   */
  remembered(token: string): AccessClaims | undefined {
    const known = this.verified.get(token);
    return known && !expired(known.claims) ? known.claims : undefined;
  }

  /**
   * Verify signature (EdDSA only: `alg: none` and algorithm swaps are refused), issuer, audience,
   * expiry. A token verified before is taken from `verified` after its expiry and key are checked
   * again: the same text always carries the same signature, so the cryptographic check cannot change.
   */
  async verify(token: string): Promise<AccessClaims> {
    const known = this.verified.get(token);
    if (known) {
      if (expired(known.claims)) {
        this.verified.delete(token);
        throw new InvalidTokenError('"exp" claim timestamp check failed');
      }
      await this.keyFor(known.kid);
      return known.claims;
    }
    try {
      const { payload } = await jwtVerify(token, async (header) => (await this.keyFor(header.kid)).publicKey, {
        algorithms: ['EdDSA'],
        issuer: this.opts.issuer,
        audience: AUDIENCE,
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ['sub', 'sid', 'exp', 'iat'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw new InvalidTokenError('token claims are malformed');
      const claims = Object.freeze(payload) as AccessClaims;
      this.verified.set(token, { claims, kid: decodeProtectedHeader(token).kid! });
      return claims;
    } catch (err) {
      if (err instanceof InvalidTokenError) throw err;
      throw new InvalidTokenError((err as Error).message);
    }
  }

  /** The public keys that may have signed a live token (JWKS). */
  async jwks(): Promise<{ keys: JWK[] }> {
    if (Date.now() - this.loadedAt > 60_000) await this.load();
    return { keys: [...this.keys.values()].map((k) => k.publicJwk) };
  }

  /** For tests and the admin: which key signs now. */
  activeKid(): string | undefined {
    return this.active?.kid;
  }
}

