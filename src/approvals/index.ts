/**
 * Signed decisions: OpenSSH signatures (SSHSIG) over a canonical statement, checked against an
 * allowed-signers file. Pure modules, importable from workflows, activities and the CLI.
 */
export * from './allowed-signers';
export * from './sshsig';
export * from './statement';
export * from './verify-decision';
export * from './verify-approval-set';
export * from './authorization';
