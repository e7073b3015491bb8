import type { z } from 'zod';
import { formatIssues } from './format';

/**
 * Reads a value through its zod schema; a mismatch becomes the caller's error, given every bad
 * key as `path: message; …` (at most `limit`, `root` naming the value itself). Used by the
 * workflows for their inputs and by the CLI for their results.
 */
export function parseOrRefuse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  refuse: (issues: string) => Error,
  options: { root?: string; limit?: number } = {},
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw refuse(formatIssues(parsed.error.issues, options.root, options.limit));
}
