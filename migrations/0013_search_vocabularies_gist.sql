DROP INDEX "search_hashtags_trgm_idx";--> statement-breakpoint
DROP INDEX "search_terms_trgm_idx";--> statement-breakpoint
CREATE INDEX "search_hashtags_trgm_idx" ON "search_hashtags" USING gist ("tag" gist_trgm_ops);--> statement-breakpoint
CREATE INDEX "search_terms_trgm_idx" ON "search_terms" USING gist ("term" gist_trgm_ops);