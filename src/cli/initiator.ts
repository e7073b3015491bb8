import { userInfo } from 'node:os';

/** Who is acting: `--as`, else PGSHIFT_USER, else the OS user name (`unknown` without one). */
export function resolveInitiator(as?: string): string {
  const name = as?.trim() || process.env.PGSHIFT_USER?.trim();
  if (name) return name;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
