/**
 * The decision matrix's vocabulary: what broke and how bad. Plain constants (no zod, no SDK),
 * so that the CLI can name them in its help without loading the workflow contracts.
 */
export const ISSUE_TYPES = [
  'migration-failure',
  'application-failure',
  'performance-degradation',
  'feature-failure',
  'minor',
] as const;
export type IssueType = (typeof ISSUE_TYPES)[number];

export const SEVERITIES = ['P0', 'P1', 'P2', 'P3'] as const;
export type Severity = (typeof SEVERITIES)[number];
