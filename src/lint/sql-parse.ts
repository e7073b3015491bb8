import { loadModule, parseSync } from 'libpg-query';

/** A node of libpg-query's JSON AST (shape varies by node type). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AstNode = any;

/** One top-level statement of a file, with its position in lines. */
export interface ParsedStatement {
  /** Node type, e.g. "CreateStmt", "DropStmt". */
  type: string;
  /** The node's body (the value under `type`). */
  node: AstNode;
  /** Byte offsets of the statement in the file (end excludes the semicolon). */
  start: number;
  end: number;
  /** 1-based line of the statement's first token. */
  line: number;
}

/** A SQL file parsed by the real PostgreSQL parser. */
export interface ParsedFile {
  file: string;
  sql: string;
  statements: ParsedStatement[];
  /** Set when the file does not parse; `statements` is then empty. */
  syntaxError?: { message: string; line: number };
  /** 1-based line of a byte offset (libpg-query locations are byte offsets). */
  lineOf(byteOffset: number): number;
  /** Text between two byte offsets. */
  textBetween(start: number, end: number): string;
}

let moduleLoaded: Promise<void> | undefined;

/** Loads the WebAssembly parser once per process. */
export function loadParser(): Promise<void> {
  moduleLoaded ??= loadModule();
  return moduleLoaded;
}

function lineStarts(bytes: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) starts.push(i + 1);
  return starts;
}

function lineAt(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Skips whitespace and comments from `offset`, so a statement's line is its first token's. */
function skipTrivia(bytes: Buffer, offset: number): number {
  let i = offset;
  for (;;) {
    while (i < bytes.length && /\s/.test(String.fromCharCode(bytes[i]))) i++;
    if (bytes[i] === 0x2d && bytes[i + 1] === 0x2d) {
      while (i < bytes.length && bytes[i] !== 0x0a) i++;
    } else if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a) {
      const close = bytes.indexOf('*/', i + 2);
      i = close < 0 ? bytes.length : close + 2;
    } else return i;
  }
}

/** Parses a file's SQL; a syntax error becomes `syntaxError` with its line, never an exception. */
export async function parseSqlFile(file: string, sql: string): Promise<ParsedFile> {
  await loadParser();
  const bytes = Buffer.from(sql, 'utf8');
  const starts = lineStarts(bytes);
  const lineOf = (offset: number) => lineAt(starts, Math.max(0, Math.min(offset, bytes.length)));
  const textBetween = (start: number, end: number) =>
    bytes.subarray(Math.max(0, start), Math.max(0, end)).toString('utf8');
  const parsed: ParsedFile = { file, sql, statements: [], lineOf, textBetween };
  let result: AstNode;
  try {
    result = parseSync(sql);
  } catch (error) {
    const details = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails;
    const message = error instanceof Error ? error.message : String(error);
    parsed.syntaxError = { message, line: lineOf(details?.cursorPosition ?? 0) };
    return parsed;
  }
  for (const raw of (result.stmts ?? []) as AstNode[]) {
    const location: number = raw.stmt_location ?? 0;
    const start = skipTrivia(bytes, location);
    const end = raw.stmt_len ? location + raw.stmt_len : bytes.length;
    const [type] = Object.keys(raw.stmt);
    parsed.statements.push({ type, node: raw.stmt[type], start, end, line: lineOf(start) });
  }
  return parsed;
}
