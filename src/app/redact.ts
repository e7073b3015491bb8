/** Names of environment variables whose values must never appear in output we keep. */
const SECRET_NAME =
  /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL|DATABASE_URL|WEBHOOK)/i;

/**
 * Removes credentials from text we keep or show (hook output, errors): passwords in URLs
 * (`postgres://<user>:<password>@` → `postgres://<user>:***@`) and the values of secret-looking
 * environment variables.
 */
export function redactSecrets(
  text: string,
  env: Record<string, string | undefined> = process.env,
): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s/]+@/gi, '$1:***@');
  for (const [name, value] of Object.entries(env))
    if (value && value.length >= 6 && SECRET_NAME.test(name))
      out = out.split(value).join(`<${name}>`);
  return out;
}

/** Keeps the last `limit` characters (the end of a log says what failed). */
export function truncateOutput(text: string, limit = 4000): string {
  if (text.length <= limit) return text;
  return `…(${text.length - limit} characters cut)…\n${text.slice(-limit)}`;
}
