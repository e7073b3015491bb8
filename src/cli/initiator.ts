import { userInfo } from 'node:os';

/** Who is acting: `--as`, else PGSHIFT_USER, else the OS user name. */
export function resolveInitiator(as?: string): string {
  const name = as?.trim() || process.env.PGSHIFT_USER?.trim() || userInfo().username;
  return name;
}
