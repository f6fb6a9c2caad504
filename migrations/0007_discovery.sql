CREATE TABLE "engagement_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid,
	"item_type" text NOT NULL,
	"item_id" uuid NOT NULL,
	"creator_id" uuid,
	"kind" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "recommender_models" (
	"id" uuid PRIMARY KEY NOT NULL,
	"state" text DEFAULT 'training' NOT NULL,
	"storage_key" text,
	"users" integer DEFAULT 0 NOT NULL,
	"items" integer DEFAULT 0 NOT NULL,
	"interactions" integer DEFAULT 0 NOT NULL,
	"info" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "user_interests" (
	"user_id" uuid NOT NULL,
	"tag" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_interests_user_id_tag_pk" PRIMARY KEY("user_id","tag")
);
--> statement-breakpoint
CREATE TABLE "trending_scores" (
	"kind" text NOT NULL,
	"window" text NOT NULL,
	"item_id" text NOT NULL,
	"rank" integer NOT NULL,
	"score" real NOT NULL,
	"users" integer NOT NULL,
	"computed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "trending_scores_kind_window_item_id_pk" PRIMARY KEY("kind","window","item_id")
);
--> statement-breakpoint
CREATE TABLE "search_hashtags" (
	"tag" text PRIMARY KEY NOT NULL,
	"posts" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "search_terms" (
	"term" text PRIMARY KEY NOT NULL,
	"docs" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "engagement_events" ADD CONSTRAINT "engagement_events_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_interests" ADD CONSTRAINT "user_interests_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "engagement_events_type_at_idx" ON "engagement_events" USING btree ("item_type","at");--> statement-breakpoint
CREATE INDEX "engagement_events_user_idx" ON "engagement_events" USING btree ("user_id","at");--> statement-breakpoint
CREATE INDEX "engagement_events_item_idx" ON "engagement_events" USING btree ("item_type","item_id","at");--> statement-breakpoint
CREATE INDEX "recommender_models_state_idx" ON "recommender_models" USING btree ("state","started_at");--> statement-breakpoint
CREATE INDEX "trending_scores_rank_idx" ON "trending_scores" USING btree ("kind","window","rank");--> statement-breakpoint
CREATE INDEX "search_hashtags_trgm_idx" ON "search_hashtags" USING gin ("tag" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "search_terms_trgm_idx" ON "search_terms" USING gin ("term" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "users_username_trgm_idx" ON "users" USING gin (lower("username") gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "users_display_name_trgm_idx" ON "users" USING gin (lower("display_name") gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "post_hashtags_tag_trgm_idx" ON "post_hashtags" USING gin ("tag" gin_trgm_ops);