/**
 * Why `url` cannot be a PostgreSQL connection URL, or undefined when it can. `source` names
 * where it came from (a variable or a flag) so the message points at what to fix; the value
 * itself is never repeated, since a malformed URL may still hold a password.
 */
export function databaseUrlProblem(url: string, source: string): string | undefined {
  const example = 'postgresql://<user>:<password>@<host>:<port>/<database>';
  if (/^socket:/.test(url) || url.startsWith('/')) return undefined;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1];
  if (!scheme)
    return `${source} is not a PostgreSQL URL (it has no postgresql:// scheme): expected ${example}`;
  if (!['postgres', 'postgresql'].includes(scheme.toLowerCase()))
    return `${source} is a ${scheme}:// URL, not a PostgreSQL one: expected ${example}`;
  try {
    const parsed = new URL(url.replace(/%(?![0-9A-Fa-f]{2})/g, '%25'));
    if (!parsed.hostname && !parsed.searchParams.get('host'))
      return `${source} names no host: expected ${example}`;
    if (parsed.port && !/^\d+$/.test(parsed.port))
      return `${source} has a port that is not a number: expected ${example}`;
  } catch {
    return `${source} is not a well-formed URL (percent-encode special characters of the password, such as @ → %40, / → %2F): expected ${example}`;
  }
  return undefined;
}
