// Every table of every module, for drizzle-kit (migrations) and the typed query builder.
export * from './platform/db/tables.js';
