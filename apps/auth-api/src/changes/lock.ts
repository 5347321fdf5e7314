/**
 * The advisory lock key of the change feed (any bigint unique to this purpose in the database): feed
 * writers hold it shared until their transaction ends, a reader takes it exclusively (see 0007).
 */
export const CHANGE_FEED_LOCK = 7_303_110_171;
