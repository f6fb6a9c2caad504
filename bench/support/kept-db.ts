/**
 * The SECRET_KEY of a bench app over a kept database (--db-name): derived from the database name,
 * so every bench that reuses the same seeded database (bench/feed, bench/search) can open the
 * signing keys sealed by whichever seeded it. Undefined without a kept database (a fresh secret).
 */
export function keptDatabaseSecret(dbName: string | undefined): string | undefined {
  return dbName ? `bench-only-secret-${dbName}-0123456789abcdef` : undefined;
}
