DROP INDEX "users_username_prefix_idx";--> statement-breakpoint
CREATE INDEX "users_username_length_prefix_idx" ON "users" USING btree (length(lower("username")),(lower("username") collate "C"));