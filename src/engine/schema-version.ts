/** Kept apart from the zod schema so the hot path does not load zod. */
export const SCHEMA_VERSION = 2 as const;
