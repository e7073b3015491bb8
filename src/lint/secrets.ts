import type { Finding } from '../migrations/types';

interface SecretPattern {
  kind: string;
  pattern: RegExp;
  /** Index of the capture group holding the secret itself (0 = whole match). */
  group: number;
}

/** Values that name a placeholder rather than hold a secret. */
const placeholder =
  /^(\$\d+|\$\{.*\}|:[\w]+|<[^>]*>|\*+|x+|null|none|redacted|changeme_placeholder|%s|\?)$/i;

const patterns: SecretPattern[] = [
  { kind: 'private key', pattern: /-----BEGIN ([A-Z]+ )*PRIVATE KEY-----/g, group: 0 },
  { kind: 'AWS access key id', pattern: /\b((?:AKIA|ASIA)[0-9A-Z]{16})\b/g, group: 1 },
  {
    kind: 'GitHub token',
    pattern: /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g,
    group: 1,
  },
  { kind: 'Slack token', pattern: /\b(xox[abprs]-[A-Za-z0-9-]{10,})/g, group: 1 },
  { kind: 'Stripe live key', pattern: /\b((?:sk|rk)_live_[A-Za-z0-9]{10,})/g, group: 1 },
  {
    kind: 'connection string with a password',
    pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]+:([^\s@/'"]+)@/gi,
    group: 1,
  },
  { kind: 'role password', pattern: /\bPASSWORD\s+'((?:[^']|'')*)'/gi, group: 1 },
  {
    kind: 'password',
    pattern: /\b(?:password|passwd|pwd)\s*[=:]\s*['"]?([^\s'";,)]+)/gi,
    group: 1,
  },
  {
    kind: 'secret',
    pattern:
      /\b(?:api[_-]?key|secret(?:[_-]?key)?|access[_-]?token|auth[_-]?token)\s*[=:]\s*['"]([^'"\s]{8,})['"]/gi,
    group: 1,
  },
];

/** Shows a secret's shape without its value: the first two characters and its length. */
export function maskSecret(secret: string): string {
  if (secret.length <= 4) return '****';
  return `${secret.slice(0, 2)}…(${secret.length} chars)`;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Finds credentials in a migration file (passwords, keys, tokens, connection strings with
 * passwords). Findings name the file, line and kind of secret, never the secret itself.
 */
export function findSecrets(file: string, sql: string): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const { kind, pattern, group } of patterns) {
    for (const match of sql.matchAll(pattern)) {
      const secret = match[group] ?? match[0];
      if (kind !== 'private key' && placeholder.test(secret)) continue;
      if (kind === 'role password' && secret === '') continue;
      const line = lineOf(sql, match.index ?? 0);
      const id = `${line}:${match.index! + match[0].indexOf(secret)}`;
      if (seen.has(id)) continue;
      seen.add(id);
      findings.push({
        severity: 'error',
        rule: 'guide/no-secrets',
        message: `${kind} in a migration file (${kind === 'private key' ? 'key material' : maskSecret(secret)}): remove it, rotate the credential, and set it outside migrations (e.g. \\password or a secret store)`,
        file,
        line,
      });
    }
  }
  return findings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}
