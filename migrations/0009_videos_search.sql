-- Written by hand (discovery / videos in search). The words of a video for full-text search,
-- weighted so ranking prefers a title match (A) to a tag match (B) to a description match (C).
-- A stored generated column, so it is always true whatever writes the row, and kept out of the
-- drizzle table definition so ordinary video reads through the ORM never fetch it.
-- array_to_string is STABLE (it calls the element type's output function); for text[] it is in
-- fact immutable, which is what the wrapper declares so the generated column may use it. The
-- wrapper is the one place the weighting is defined: changing it needs the column rebuilt.
-- On an existing large videos table the ALTER rewrites the table once.
CREATE OR REPLACE FUNCTION "videos_search_vector"("title" text, "tags" text[], "description" text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT setweight(to_tsvector('english'::regconfig, coalesce($1, '')), 'A')
        || setweight(to_tsvector('english'::regconfig, coalesce(array_to_string($2, ' '), '')), 'B')
        || setweight(to_tsvector('english'::regconfig, coalesce($3, '')), 'C')
  $$;--> statement-breakpoint
ALTER TABLE "videos" ADD COLUMN IF NOT EXISTS "search_vector" tsvector GENERATED ALWAYS AS ("videos_search_vector"("title", "tags", "description")) STORED;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "videos_search_vector_idx" ON "videos" USING gin ("search_vector");--> statement-breakpoint
-- Up next: videos sharing a tag with the current one (tags && $1).
CREATE INDEX IF NOT EXISTS "videos_tags_idx" ON "videos" USING gin ("tags");
