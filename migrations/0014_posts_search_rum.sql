-- Written by hand (discovery / search): where the PostgreSQL server has the RUM extension
-- (Debian/Ubuntu: postgresql-<major>-rum; https://github.com/postgrespro/rum), a RUM index over the
-- posts' search vectors that also stores each post's place in id order, so a word search reads its
-- newest matches straight from the index instead of fetching every match from the table (the GIN
-- index's way) or walking the table newest first (see modules/search/postgres.ts, plan 'rum').
-- `search_order` is the first 60 bits of the (time-ordered, UUIDv7) id as a bigint: it never
-- decreases as the id grows, which is what lets the index answer "newest first" (RUM orders only by
-- numbers and times, not by uuid). Where RUM is missing (PGlite, servers without the package) none
-- of this is created and search keeps its GIN plans, with the same answers.
-- On an existing large posts table this rewrites the table once and builds the index (about 15 s
-- for 1M posts). To add it after installing RUM later, run the statements below by hand
-- (docs/operations.md, "Search").
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'rum') THEN
    CREATE EXTENSION IF NOT EXISTS rum;
    ALTER TABLE "posts" ADD COLUMN IF NOT EXISTS "search_order" bigint
      GENERATED ALWAYS AS (('x' || substr(translate("id"::text, '-', ''), 1, 15))::bit(60)::bigint) STORED;
    CREATE INDEX IF NOT EXISTS "posts_search_rum" ON "posts"
      USING rum ("search_vector" rum_tsvector_addon_ops, "search_order") WITH (attach = 'search_order', to = 'search_vector');
  END IF;
END
$$;
