import type { Finding, ForwardHeader, RollbackHeader } from './types';

/**
 * Header comments of migration files, as the deployment guide prescribes.
 *
 * Forward file `NNN_description.sql`:
 *
 *     -- Migration: 007_add_customer_region.sql
 *     -- Description: Brief description of changes
 *     -- Author: Developer name
 *     -- Date: 2024-05-01
 *
 * Rollback file `NNN_rollback.sql`:
 *
 *     -- Rollback: 007_rollback.sql
 *     -- Reverses migration: 007_add_customer_region.sql
 *     -- Author: Developer name
 *     -- Date: 2024-05-01
 *
 * Headers live in the file's leading comment block (comment and blank lines before the
 * first SQL statement). `-- Migration:` and `-- Rollback:` must equal the file's own name,
 * `-- Reverses migration:` must name the forward file of the same number, and `-- Date:` is
 * a real calendar date written YYYY-MM-DD.
 *
 * Markers, each a comment line of its own in the same leading block:
 *
 *   -- pgshift:no-transaction
 *       The file runs statement by statement outside a transaction (needed for
 *       CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, VACUUM). lock_timeout and
 *       statement_timeout are set for the session before the first statement and reset
 *       after the last; the ledger row is written after the last statement succeeds. If a
 *       statement fails, the statements before it stay applied: write every statement
 *       idempotently (IF NOT EXISTS / IF EXISTS) so the file can simply be run again.
 *       BEGIN/COMMIT in such a file are sent to the server as written.
 *
 *   -- pgshift:high-risk
 *       The change is high risk (long locks, data rewrites, destructive steps): a production
 *       deploy that contains it needs the executive approval the guide asks for.
 *
 * Without `no-transaction`, the runner wraps the whole file and its ledger bookkeeping in
 * one transaction of its own. Top-level BEGIN / START TRANSACTION / COMMIT / END in the file
 * (the guide's rollback files carry them) are dropped, so a trailing `DO $$ … RAISE NOTICE
 * … $$;` after the file's COMMIT still runs inside that one transaction; ROLLBACK, SAVEPOINT,
 * RELEASE and PREPARE TRANSACTION are refused with a finding.
 */
export const NO_TRANSACTION_MARKER = '-- pgshift:no-transaction';
export const HIGH_RISK_MARKER = '-- pgshift:high-risk';

const FORWARD_KEYS = ['Migration', 'Description', 'Author', 'Date'] as const;
const ROLLBACK_KEYS = ['Rollback', 'Reverses migration', 'Author', 'Date'] as const;
const ALL_KEYS = new Map(
  [...FORWARD_KEYS, ...ROLLBACK_KEYS].map((key) => [key.toLowerCase(), key] as const),
);

export interface HeaderBlock {
  /** Header values by canonical key ("Reverses migration"), with their 1-based line. */
  values: Map<string, { value: string; line: number }>;
  noTransaction: boolean;
  highRisk: boolean;
  findings: Finding[];
}

/** Reads the leading comment block of a file: header values, markers, malformed lines. */
export function readHeaderBlock(file: string, sql: string): HeaderBlock {
  const block: HeaderBlock = {
    values: new Map(),
    noTransaction: false,
    highRisk: false,
    findings: [],
  };
  const lines = sql.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const text = lines[index].trim();
    const line = index + 1;
    if (text === '') continue;
    if (!text.startsWith('--')) break;
    const marker = text.replace(/\s+/g, ' ').toLowerCase();
    if (marker === NO_TRANSACTION_MARKER) {
      block.noTransaction = true;
      continue;
    }
    if (marker === HIGH_RISK_MARKER) {
      block.highRisk = true;
      continue;
    }
    if (marker.startsWith('-- pgshift:')) {
      block.findings.push({
        severity: 'error',
        rule: 'unknown-marker',
        message: `unknown marker "${text}": use "${NO_TRANSACTION_MARKER}" or "${HIGH_RISK_MARKER}"`,
        file,
        line,
      });
      continue;
    }
    const match = /^--\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*)$/.exec(text);
    const key = match ? ALL_KEYS.get(match[1].toLowerCase().replace(/\s+/g, ' ')) : undefined;
    if (!match || !key) {
      const words = text
        .replace(/^--\s*/, '')
        .replace(/\s+/g, ' ')
        .toLowerCase();
      const lookalike = [...ALL_KEYS].find(
        ([lower]) => words === lower || words.startsWith(lower + ' '),
      )?.[1];
      if (lookalike && !match && !block.values.has(lookalike))
        block.findings.push({
          severity: 'error',
          rule: 'malformed-header',
          message: `header "${text}" lacks a colon: write "-- ${lookalike}: value"`,
          file,
          line,
          object: lookalike,
        });
      continue;
    }
    if (block.values.has(key)) {
      block.findings.push({
        severity: 'error',
        rule: 'duplicate-header',
        message: `header "-- ${key}:" appears twice (first on line ${block.values.get(key)!.line}): keep one`,
        file,
        line,
        object: key,
      });
      continue;
    }
    block.values.set(key, { value: match[2].trim(), line });
  }
  return block;
}

function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return date.toISOString().slice(0, 10) === value;
}

function requireKeys(
  file: string,
  block: HeaderBlock,
  keys: readonly string[],
  findings: Finding[],
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const key of keys) {
    const entry = block.values.get(key);
    if (!entry) {
      const malformed = block.findings.some((f) => f.object === key);
      if (!malformed)
        findings.push({
          severity: 'error',
          rule: 'missing-header',
          message: `header "-- ${key}:" is missing: add it to the comment block at the top of the file`,
          file,
          line: 1,
          object: key,
        });
      result[key] = '';
      continue;
    }
    result[key] = entry.value;
    if (entry.value === '') {
      findings.push({
        severity: 'error',
        rule: 'empty-header',
        message: `header "-- ${key}:" is empty: give it a value`,
        file,
        line: entry.line,
        object: key,
      });
    } else if (key === 'Date' && !isCalendarDate(entry.value)) {
      findings.push({
        severity: 'error',
        rule: 'malformed-header',
        message: `header "-- Date: ${entry.value}" is not a date in YYYY-MM-DD form`,
        file,
        line: entry.line,
        object: key,
      });
    }
  }
  return result;
}

function requireEqual(
  file: string,
  block: HeaderBlock,
  key: string,
  expected: string,
  rule: string,
  findings: Finding[],
): void {
  const entry = block.values.get(key);
  if (!entry || entry.value === '' || entry.value === expected) return;
  findings.push({
    severity: 'error',
    rule,
    message: `header "-- ${key}: ${entry.value}" must be "${expected}"`,
    file,
    line: entry.line,
    object: key,
  });
}

/** Checks a forward file's headers; every problem becomes a finding naming file and line. */
export function parseForwardHeader(
  file: string,
  block: HeaderBlock,
): { header: ForwardHeader; findings: Finding[] } {
  const findings = [...block.findings];
  const values = requireKeys(file, block, FORWARD_KEYS, findings);
  requireEqual(file, block, 'Migration', file, 'header-mismatch', findings);
  return {
    header: {
      migration: values.Migration,
      description: values.Description,
      author: values.Author,
      date: values.Date,
    },
    findings,
  };
}

/**
 * Checks a rollback file's headers. `forwardFile` is the forward file of the same number
 * (undefined when there is none: the pairing check reports that).
 */
export function parseRollbackHeader(
  file: string,
  block: HeaderBlock,
  forwardFile: string | undefined,
): { header: RollbackHeader; findings: Finding[] } {
  const findings = [...block.findings];
  const values = requireKeys(file, block, ROLLBACK_KEYS, findings);
  requireEqual(file, block, 'Rollback', file, 'header-mismatch', findings);
  if (forwardFile)
    requireEqual(file, block, 'Reverses migration', forwardFile, 'wrong-reverses', findings);
  return {
    header: {
      rollback: values.Rollback,
      reverses: values['Reverses migration'],
      author: values.Author,
      date: values.Date,
    },
    findings,
  };
}
