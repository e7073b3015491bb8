/**
 * The CLI side of signed decisions: build the canonical statement for a workflow (its
 * namespace, run id and plan read from Temporal), print it for signing elsewhere
 * (`--print-statement`), or sign it here with `ssh-keygen -Y sign -n pgshift` (`--key`: a
 * private key file, or a public key whose private half is in ssh-agent, as ssh-keygen takes it).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import {
  formatStatement,
  SIGNATURE_NAMESPACE,
  StatementFormatError,
  type DecisionAction,
  type DecisionStatement,
} from '../approvals/statement';
import { tryParseDuration } from '../config/duration';
import { UsageError } from '../errors';
import { PgshiftEnvironment, PgshiftPlanChecksum } from '../temporal/search-attribute-keys';
import { explainDeployError } from './deploy-handles';

/** How long a statement stays valid unless `--valid-for` says otherwise. */
export const DEFAULT_STATEMENT_VALIDITY = '1h';

/** What a statement is bound to. */
export interface StatementTarget {
  namespace: string;
  environment: string;
  workflowId: string;
  /** null for the start of a workflow (no run yet). */
  runId: string | null;
  planChecksum: string | null;
}

export interface SigningFlags {
  /** Private key file, or public key file with the private key in ssh-agent. */
  key?: string;
  /** How long the statement is valid (`30m`, `2h`); default 1h. */
  validFor?: string;
}

/** A signed decision as it travels in a payload. */
export interface SignedFields {
  statement: string;
  signature: string;
}

/** The namespace, environment, run id and plan of a running workflow, from Temporal. */
export async function describeStatementTarget(
  client: Client,
  workflowId: string,
): Promise<StatementTarget> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    const environment = description.typedSearchAttributes.get(PgshiftEnvironment);
    if (!environment)
      throw new UsageError(
        `workflow ${workflowId} has no PgshiftEnvironment search attribute: is it a pgshift workflow?`,
      );
    return {
      namespace: client.options.namespace,
      environment,
      workflowId,
      // A fleet rollout's decisions name its first run (the same across continue-as-new).
      runId: environment.startsWith('fleet:')
        ? description.raw.workflowExecutionInfo?.firstRunId || description.runId
        : description.runId,
      planChecksum: description.typedSearchAttributes.get(PgshiftPlanChecksum) ?? null,
    };
  } catch (error) {
    throw explainDeployError(error, workflowId);
  }
}

/** A fresh statement: issued now (whole seconds), valid for `validFor`, with a random nonce. */
export function newStatement(
  target: StatementTarget,
  action: DecisionAction,
  person: string,
  reason: string,
  options: { now?: number; validFor?: string; nonce?: string } = {},
): string {
  const validFor = options.validFor ?? DEFAULT_STATEMENT_VALIDITY;
  const validForMs = tryParseDuration(validFor);
  if (validForMs === undefined || validForMs < 1000)
    throw new UsageError(
      `--valid-for ${JSON.stringify(validFor)} is not a duration such as '30m' or '2h'`,
    );
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000) * 1000;
  const statement: DecisionStatement = {
    ...target,
    action,
    person: person.trim(),
    reason: reason.trim(),
    issuedAt,
    expiresAt: issuedAt + Math.ceil(validForMs / 1000) * 1000,
    nonce: options.nonce ?? randomBytes(16).toString('hex'),
  };
  try {
    return formatStatement(statement);
  } catch (error) {
    if (error instanceof StatementFormatError)
      throw new UsageError(`cannot build a signed statement: ${error.message}`);
    throw error;
  }
}

/**
 * Signs `statement` with `ssh-keygen -Y sign -f <key> -n pgshift` (data on stdin, signature on
 * stdout). A passphrase prompt, if any, goes to the terminal as ssh-keygen does it.
 */
export async function signWithSshKeygen(
  statement: string,
  key: string,
  options: { sshKeygen?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  if (!existsSync(key))
    throw new UsageError(
      `--key ${key} does not exist: name your private key (~/.ssh/id_ed25519) or its .pub with the key loaded in ssh-agent`,
    );
  const program = options.sshKeygen ?? 'ssh-keygen';
  const child = spawn(program, ['-Y', 'sign', '-f', key, '-n', SIGNATURE_NAMESPACE], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (error) =>
      reject(
        new UsageError(
          `cannot run ${program} to sign (${error.message}): install OpenSSH 8.2 or newer`,
        ),
      ),
    );
    child.on('close', resolve);
    child.stdin.end(statement);
  });
  const problem = stderr
    .split('\n')
    .filter((line) => line.trim() && !/^Signing data on standard input/.test(line))
    .join('; ');
  if (code !== 0 || !stdout.includes('-----BEGIN SSH SIGNATURE-----'))
    throw new UsageError(
      `ssh-keygen could not sign with ${key}${problem ? `: ${problem}` : ''} (a .pub key needs its private key in ssh-agent)`,
    );
  return stdout;
}

/** Builds and signs one decision with `--key`. */
export async function signDecision(
  target: StatementTarget,
  action: DecisionAction,
  person: string,
  reason: string,
  flags: SigningFlags & { key: string },
): Promise<SignedFields> {
  const statement = newStatement(target, action, person, reason, { validFor: flags.validFor });
  return { statement, signature: await signWithSshKeygen(statement, flags.key) };
}
