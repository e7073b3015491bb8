import { errorClass } from '../errors';

/** One problem in the config, located by its key path (`environments.production.approvals.expiry`). */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * The config file (or an environment variable it names) is wrong. Every problem is listed
 * at once, each with the exact key path, so one edit fixes them all. Exit code 2.
 */
export class ConfigError extends errorClass('ConfigError', 2) {
  constructor(
    message: string,
    readonly issues: ConfigIssue[] = [],
    readonly file?: string,
  ) {
    super(message);
  }

  /** Builds the error from a list of issues: "pgshift.config.json has 2 problems:\n  key: message…". */
  static fromIssues(file: string, issues: ConfigIssue[]): ConfigError {
    const lines = issues.map((issue) => `  ${issue.path || '(top level)'}: ${issue.message}`);
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    return new ConfigError(`${file} has ${count}:\n${lines.join('\n')}`, issues, file);
  }
}
