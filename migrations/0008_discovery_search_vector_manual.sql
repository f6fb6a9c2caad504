-- Written by hand (discovery / search): the words of a post for full-text search, stored so a search
-- reads them instead of parsing every candidate's text again, and kept out of the drizzle table
-- definition so ordinary post reads (`select * from posts` through the ORM) never fetch it.
-- On an existing large posts table this rewrites the table once.
ALTER TABLE "posts" ADD COLUMN IF NOT EXISTS "search_vector" tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, "text")) STORED;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "posts_search_vector_idx" ON "posts" USING gin ("search_vector");
