// Every table of every module, for drizzle-kit (migrations) and the typed query builder.
export * from './platform/db/tables.js';
export * from './modules/users/tables.js';
export * from './modules/auth/tables.js';
export * from './modules/admin/tables.js';
export * from './modules/graph/tables.js';
export * from './modules/posts/tables.js';
export * from './modules/comments/tables.js';
export * from './modules/reactions/tables.js';
export * from './modules/notifications/tables.js';
export * from './modules/videos/tables.js';
export * from './modules/moderation/tables.js';
export * from './modules/recommendations/tables.js';
export * from './modules/trending/tables.js';
export * from './modules/search/tables.js';
