/** Names of environment variables whose values must never appear in output we keep. */
const SECRET_NAME =
  /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|DATABASE_URL|WEBHOOK)/i;

/** Keys whose values are secrets wherever they appear: URL query, conninfo, JSON, env-style. */
const SECRET_KEY = '(?:ssl)?password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key';

/** `scheme://` followed by a token (up to whitespace or a quote). */
const URL_TOKEN = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s'"<>`]+)/gi;

/**
 * The userinfo of a URL token, password included, even when the password holds a raw `@`,
 * `/` or `:` (the userinfo runs to the LAST `@` of the token's authority-looking part).
 */
function redactUrlToken(scheme: string, rest: string): string {
  const at = rest.lastIndexOf('@');
  if (at < 0) return scheme + rest;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon < 0) return scheme + rest; // a user without a password
  return `${scheme}${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
}

/**
 * Removes credentials from text we keep or show (hook output, errors, notifications,
 * failures): passwords in URLs (`postgres://<user>:<password>@`, raw `@` and `/` in the
 * password included) and in their query (`?password=`, `&sslpassword=`), conninfo
 * `password=…` (quoted or not), JSON `"password": "…"`, and the values of secret-looking
 * environment variables of `env`.
 */
export function redactSecrets(
  text: string,
  env: Record<string, string | undefined> = process.env,
): string {
  let out = text;
  // Whole values of secret variables first, while they are still intact.
  for (const [name, value] of Object.entries(env))
    if (value && value.length >= 6 && SECRET_NAME.test(name))
      out = out.split(value).join(`<${name}>`);
  out = out.replace(URL_TOKEN, (_m, scheme: string, rest: string) => redactUrlToken(scheme, rest));
  // key=value in URL queries and conninfo strings: password=secret, password = 'a b'.
  out = out.replace(
    new RegExp(`\\b(${SECRET_KEY})(\\s*=\\s*)('(?:[^'\\\\]|\\\\.)*'|[^\\s&;'"]+)`, 'gi'),
    '$1$2***',
  );
  // JSON and JS-like "password": "value".
  out = out.replace(
    new RegExp(
      `(["']?\\b(?:${SECRET_KEY})["']?\\s*:\\s*)("(?:[^"\\\\]|\\\\.)*"|'(?:[^'\\\\]|\\\\.)*')`,
      'gi',
    ),
    '$1"***"',
  );
  return out;
}

/** Keeps the last `limit` characters (the end of a log says what failed). */
export function truncateOutput(text: string, limit = 4000): string {
  if (text.length <= limit) return text;
  return `…(${text.length - limit} characters cut)…\n${text.slice(-limit)}`;
}
