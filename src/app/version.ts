import { UsageError } from '../errors';

/** What an application version may look like: it reaches hook argv, URLs and history. */
export const APP_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** True when `version` is a valid application version (`2.1.0`, `v2.1.0-rc.1+build.7`). */
export function isAppVersion(version: string): boolean {
  return APP_VERSION.test(version);
}

/** Refuses a version that is not `^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`, naming where it came from. */
export function assertAppVersion(version: string, where: string): string {
  if (!isAppVersion(version))
    throw new UsageError(
      `${where} ${JSON.stringify(version.length > 60 ? `${version.slice(0, 60)}…` : version)} is not a version: use up to 128 letters, digits and . _ + - starting with a letter or digit (e.g. 2.1.0)`,
    );
  return version;
}
