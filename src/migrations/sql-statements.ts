import { loadModule, parseSync } from 'libpg-query';
import type { Finding } from './types';

/** One top-level statement of a SQL file, located in the file's text. */
export interface SqlStatement {
  /** The statement's text, exactly as in the file (without the trailing semicolon). */
  text: string;
  /** Index of the statement's first character in the file's text (JS string index). */
  start: number;
  /** 1-based line of the statement's first character. */
  line: number;
  /** Top-level node type from the parser, e.g. "CreateStmt", "TransactionStmt". */
  nodeType: string;
  /** For transaction control: the kind, e.g. "TRANS_STMT_BEGIN"; otherwise undefined. */
  transactionKind?: string;
  /** The parsed node (for rules that look inside statements). */
  node: Record<string, unknown>;
}

export interface ParsedSql {
  statements: SqlStatement[];
  /** Set when the parser rejects the file: message, 1-based line and column. */
  syntaxError?: { message: string; line: number; column: number; index: number };
}

let loading: Promise<void> | undefined;

/**
 * Loads the WebAssembly PostgreSQL parser once per process.
 *
 * Programs that parse many files should run with V8's `--liftoff-only` (bin/pgshift.js sets
 * it, vitest.config.ts for the tests): otherwise V8 recompiles the parser's huge grammar
 * functions with TurboFan, which costs more than it saves (`migrate up` of 200 migrations:
 * 0.65 → 0.38 CPU-s). A library does not change process flags, so it is not set here.
 */
export function ensureParser(): Promise<void> {
  loading ??= loadModule();
  return loading;
}

/** 1-based line and column of a JS string index. */
export function lineAndColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: index - lineStart + 1 };
}

/** Maps UTF-8 byte offsets (what the parser reports) to JS string indexes. */
function byteToIndexMapper(text: string): (byteOffset: number) => number {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length === text.length) return (offset) => offset;
  return (offset) => buffer.subarray(0, offset).toString('utf8').length;
}

const cache = new Map<string, ParsedSql>();

/**
 * Splits a file into top-level statements with the real PostgreSQL parser (parse each
 * distinct text once per process: results are cached by content). Call `ensureParser()`
 * first.
 */
export function parseSql(sql: string): ParsedSql {
  const cached = cache.get(sql);
  if (cached) return cached;
  const parsed = parseUncached(sql);
  cache.set(sql, parsed);
  return parsed;
}

function parseUncached(sql: string): ParsedSql {
  let result;
  try {
    result = parseSync(sql);
  } catch (error) {
    const e = error as { message?: string; sqlDetails?: { cursorPosition?: number } };
    const index = Math.max(0, Math.min(e.sqlDetails?.cursorPosition ?? 0, sql.length));
    return {
      statements: [],
      syntaxError: { message: e.message ?? String(error), index, ...lineAndColumn(sql, index) },
    };
  }
  const toIndex = byteToIndexMapper(sql);
  const statements: SqlStatement[] = [];
  for (const raw of result.stmts ?? []) {
    const startByte = raw.stmt_location ?? 0;
    const start = toIndex(startByte);
    const end = raw.stmt_len ? toIndex(startByte + raw.stmt_len) : sql.length;
    const node = (raw.stmt ?? {}) as Record<string, unknown>;
    const nodeType = Object.keys(node)[0] ?? 'Unknown';
    const body = node[nodeType] as { kind?: string } | undefined;
    // Leading whitespace and comments are part of the span: point at the first real character.
    let text = sql.slice(start, end);
    const leading = /^(\s|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*/.exec(text)?.[0].length ?? 0;
    text = text.slice(leading).trimEnd();
    statements.push({
      text,
      start: start + leading,
      line: lineAndColumn(sql, start + leading).line,
      nodeType,
      transactionKind: nodeType === 'TransactionStmt' ? body?.kind : undefined,
      node: (body ?? {}) as Record<string, unknown>,
    });
  }
  return { statements };
}

const DROPPED_TRANSACTION_KINDS = new Set([
  'TRANS_STMT_BEGIN',
  'TRANS_STMT_START',
  'TRANS_STMT_COMMIT',
]);

/**
 * Statements the runner sends for a transactional file: everything except top-level
 * BEGIN / START TRANSACTION / COMMIT / END (the runner's own transaction replaces them).
 */
export function executableStatements(parsed: ParsedSql, transactional: boolean): SqlStatement[] {
  if (!transactional) return parsed.statements;
  return parsed.statements.filter(
    (statement) => !DROPPED_TRANSACTION_KINDS.has(statement.transactionKind ?? ''),
  );
}

/** Statements that cannot run inside the runner's transaction. */
function needsNoTransaction(statement: SqlStatement): string | undefined {
  const node = statement.node as { concurrent?: boolean; params?: unknown[] };
  if (statement.nodeType === 'IndexStmt' && node.concurrent) return 'CREATE INDEX CONCURRENTLY';
  if (statement.nodeType === 'DropStmt' && node.concurrent) return 'DROP INDEX CONCURRENTLY';
  if (statement.nodeType === 'VacuumStmt') return 'VACUUM';
  if (statement.nodeType === 'CreatedbStmt') return 'CREATE DATABASE';
  if (statement.nodeType === 'AlterSystemStmt') return 'ALTER SYSTEM';
  if (
    statement.nodeType === 'ReindexStmt' &&
    JSON.stringify(node.params ?? []).includes('"concurrently"')
  )
    return 'REINDEX CONCURRENTLY';
  return undefined;
}

/**
 * Findings about a file's SQL: syntax errors (file:line of the parser's position),
 * transaction control the runner cannot honour, statements that need a no-transaction file.
 */
export function sqlFindings(file: string, sql: string, transactional: boolean): Finding[] {
  const parsed = parseSql(sql);
  if (parsed.syntaxError) {
    const { message, line, column } = parsed.syntaxError;
    return [
      {
        severity: 'error',
        rule: 'sql-syntax',
        message: `SQL syntax error at line ${line}, column ${column}: ${message}`,
        file,
        line,
      },
    ];
  }
  const findings: Finding[] = [];
  if (parsed.statements.length === 0)
    findings.push({
      severity: 'warning',
      rule: 'empty-migration',
      message: 'the file contains no SQL statement',
      file,
      line: 1,
    });
  if (!transactional) return findings;
  for (const statement of parsed.statements) {
    const kind = statement.transactionKind;
    if (kind && !DROPPED_TRANSACTION_KINDS.has(kind)) {
      const word = statement.text.split(/\s+/)[0].toUpperCase();
      findings.push({
        severity: 'error',
        rule: 'transaction-control',
        message: `${word} cannot be used in a transactional migration: pgshift runs the file and its ledger row in one transaction of its own (only BEGIN/COMMIT are accepted, and ignored); remove it or mark the file "-- pgshift:no-transaction"`,
        file,
        line: statement.line,
      });
    }
    const reason = needsNoTransaction(statement);
    if (reason)
      findings.push({
        severity: 'error',
        rule: 'needs-no-transaction',
        message: `${reason} cannot run inside a transaction: put it in a file marked "-- pgshift:no-transaction"`,
        file,
        line: statement.line,
      });
  }
  return findings;
}
