import { escapeLiteral, type Client } from 'pg';
import { LockWaitTimeoutError } from './errors';
import { conflictingModes, type LockTarget } from './lock-targets';
import type { LockWaitInfo } from './types';

/**
 * Lock-aware apply: before an attempt, look in pg_locks for sessions that hold (or wait for)
 * a lock conflicting with what the migration needs; while any exist, wait WITHOUT queueing
 * (a queued ACCESS EXCLUSIVE request would block every later query on the table); then
 * attempt with a short lock_timeout, retrying on 55P03 with exponential backoff and jitter,
 * within a total budget. An opt-in policy cancels (or terminates, when idle in transaction)
 * sessions that block for too long; every such action is reported and recorded.
 */

export interface Blocker {
  pid: number | null;
  relation: string;
  mode: string;
  granted: boolean;
  applicationName: string;
  user: string | null;
  /** 'active', 'idle in transaction', …; null for a prepared transaction. */
  state: string | null;
  /** How long its transaction has run (ms). */
  transactionMs: number;
  /** How long it has been in its current state (ms). */
  stateMs: number;
}

export interface BlockerPolicy {
  /** pg_cancel_backend() an active blocker we have waited on for this long. */
  cancelAfterMs?: number;
  /** pg_terminate_backend() an idle-in-transaction blocker we have waited on for this long. */
  terminateIdleAfterMs?: number;
}

export interface BlockerAction {
  action: 'cancel' | 'terminate';
  pid: number;
  blocker: string;
  succeeded: boolean;
}

/** The conflicting locks on the targets: `names` and `modes` are text[] expressions. */
const conflictsFrom = (names: string, modes: string) => `
  FROM (SELECT DISTINCT r.rel, x.mode
          FROM unnest(${names}, ${modes}) AS x(name, mode)
          CROSS JOIN LATERAL (
            SELECT to_regclass(x.name) AS rel
            UNION ALL
            SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = to_regclass(x.name)) r
         WHERE r.rel IS NOT NULL) t
  JOIN pg_locks l ON l.locktype = 'relation' AND l.relation = t.rel AND l.mode = t.mode
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.pid IS DISTINCT FROM pg_backend_pid()`;

const BLOCKERS_SQL = `
SELECT l.pid, l.relation::regclass::text AS relation, l.mode, l.granted,
       coalesce(a.application_name, '') AS application_name, a.usename AS "user", a.state,
       coalesce(extract(epoch FROM now() - a.xact_start) * 1000, 0)::float8 AS transaction_ms,
       coalesce(extract(epoch FROM now() - a.state_change) * 1000, 0)::float8 AS state_ms
${conflictsFrom('$1::text[]', '$2::text[]')}
 ORDER BY transaction_ms DESC`;

/** SQLSTATE the in-transaction guard raises when a conflicting session is in the way. */
export const BLOCKED_SQLSTATE = 'PGSLW';

function conflictPairs(targets: LockTarget[]): { names: string[]; modes: string[] } {
  const names: string[] = [];
  const modes: string[] = [];
  for (const t of targets)
    for (const mode of conflictingModes(t.mode)) {
      names.push(t.relation);
      modes.push(mode);
    }
  return { names, modes };
}

/**
 * The guard's body, kept in the ledger schema (which snapshots leave out) so that the
 * statement each attempt sends stays short: pg_stat_activity shows the first 1024 bytes of a
 * query by default, and those must show the migration, not pgshift's bookkeeping.
 */
export const BLOCKER_GUARD_FUNCTION_SQL = `
CREATE OR REPLACE FUNCTION pgshift.blocker_guard(names text[], modes text[], min_age_ms integer)
RETURNS void LANGUAGE plpgsql AS $pgshift_guard$
BEGIN
  -- The precise check reads pg_stat_activity (~2 ms of server time); this first one (any
  -- relation lock of another session in this database, a superset) costs ~0.4 ms and is false
  -- whenever the database is otherwise idle, as on a fresh database or in a rehearsal.
  IF NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation'
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.pid IS DISTINCT FROM pg_backend_pid()) THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 ${conflictsFrom('names', 'modes')}
     AND (l.pid IS NULL OR coalesce(extract(epoch FROM clock_timestamp() - a.xact_start) * 1000, 0) >= min_age_ms))
  THEN
    RAISE EXCEPTION 'pgshift: a session holds or waits for a conflicting lock' USING ERRCODE = '${BLOCKED_SQLSTATE}';
  END IF;
END $pgshift_guard$`;

const guardReady = new WeakSet<Client>();

/** Creates pgshift.blocker_guard when an older ledger lacks it (once per session). */
export async function ensureBlockerGuard(client: Client): Promise<void> {
  if (guardReady.has(client)) return;
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT to_regprocedure('pgshift.blocker_guard(text[],text[],integer)') IS NOT NULL AS ok`,
  );
  if (!rows[0]!.ok)
    await client.query(`CREATE SCHEMA IF NOT EXISTS pgshift; ${BLOCKER_GUARD_FUNCTION_SQL}`);
  guardReady.add(client);
}

/**
 * The same check as findBlockers as a statement to run first in the migration's own
 * transaction (no round trip of its own): it raises BLOCKED_SQLSTATE before any lock on the
 * targets is requested, so nothing queues; the runner then waits and names the blockers.
 * Needs ensureBlockerGuard on the session first.
 */
export function blockerGuardSql(targets: LockTarget[], minAgeMs: number): string | undefined {
  if (targets.length === 0) return undefined;
  const { names, modes } = conflictPairs(targets);
  const array = (values: string[]) => `ARRAY[${values.map(escapeLiteral).join(', ')}]::text[]`;
  return `SELECT pgshift.blocker_guard(${array(names)}, ${array(modes)}, ${Math.max(0, Math.round(minAgeMs))})`;
}

/**
 * Sessions holding or waiting for a lock that conflicts with one of `targets`, oldest
 * transaction first. Transactions younger than `minAgeMs` are left out: they end within an
 * attempt's lock_timeout, which is what the attempt is for.
 */
export async function findBlockers(
  client: Client,
  targets: LockTarget[],
  minAgeMs = 0,
): Promise<Blocker[]> {
  if (targets.length === 0) return [];
  const { names, modes } = conflictPairs(targets);
  const { rows } = await client.query<{
    pid: number | null;
    relation: string;
    mode: string;
    granted: boolean;
    application_name: string;
    user: string | null;
    state: string | null;
    transaction_ms: number;
    state_ms: number;
  }>(BLOCKERS_SQL, [names, modes]);
  const seen = new Set<string>();
  const out: Blocker[] = [];
  for (const r of rows) {
    const key = `${r.pid}/${r.relation}`;
    if (seen.has(key) || (r.pid !== null && r.transaction_ms < minAgeMs)) continue;
    seen.add(key);
    out.push({
      pid: r.pid,
      relation: r.relation,
      mode: r.mode,
      granted: r.granted,
      applicationName: r.application_name,
      user: r.user,
      state: r.state,
      transactionMs: r.transaction_ms,
      stateMs: r.state_ms,
    });
  }
  return out;
}

/** Transactions younger than this are not waited for: they end within an attempt. */
export function blockerMinAgeMs(lockTimeoutMs: number): number {
  return Math.max(20, lockTimeoutMs / 2);
}

/** 192000 → '3m12s', 1500 → '1.5s'. */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10}s`;
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h}h` : ''}${m}m${s % 60}s`;
}

/** `pid 4711 (billing, idle in transaction for 3m12s) holding AccessShareLock on customers` */
export function describeBlocker(b: Blocker): string {
  if (b.pid === null) return `a prepared transaction holding ${b.mode} on ${b.relation}`;
  const app = b.applicationName || 'no application_name';
  const state = b.state ?? 'unknown state';
  const age = state === 'active' ? b.transactionMs : b.stateMs;
  const verb = b.granted ? 'holding' : 'waiting for';
  return `pid ${b.pid} (${app}, ${state} for ${formatAge(age)}) ${verb} ${b.mode} on ${b.relation}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isLockTimeout(error: unknown): boolean {
  const e = error as { code?: string; sqlState?: string };
  return e?.code === '55P03' || e?.sqlState === '55P03';
}

export interface LockAwareOptions {
  targets: LockTarget[];
  /** The attempt's lock_timeout in ms (also: younger transactions are not waited for). */
  lockTimeoutMs: number;
  /** Total budget of waits and attempts (ms). */
  budgetMs: number;
  policy?: BlockerPolicy;
  /** What we wait for, while we wait (about once a second, and whenever it changes). */
  onWait?: (info: LockWaitInfo) => void;
  /** Records a cancel/terminate action (in the ledger). */
  record?: (action: BlockerAction) => Promise<void>;
  /** Name of what is applied, for the error message (file name). */
  what: string;
  /** false: a lock timeout is not retried (the attempt cannot be repeated safely). */
  retry?: boolean;
  /**
   * The attempt runs blockerGuardSql first in its own transaction: the first look for
   * blockers costs no round trip (later looks, while waiting, are findBlockers).
   */
  guarded?: boolean;
  pollMs?: number;
}

export interface LockAwareOutcome {
  waitedMs: number;
  attempts: number;
  blockers: string[];
  actions: BlockerAction[];
}

/**
 * Runs `attempt` once no conflicting session is in the way, retrying it when it fails with
 * lock_timeout (55P03). Throws LockWaitTimeoutError naming the blockers seen when the
 * budget is spent; any other error of `attempt` passes through.
 */
export async function withLockAwareRetry<T>(
  client: Client,
  options: LockAwareOptions,
  attempt: () => Promise<T>,
): Promise<{ value: T; outcome: LockAwareOutcome }> {
  const started = Date.now();
  const deadline = started + options.budgetMs;
  const pollMs = options.pollMs ?? 100;
  const minAge = blockerMinAgeMs(options.lockTimeoutMs);
  const seen = new Map<string, string>(); // blocker key → description (last seen)
  const firstSeen = new Map<number, number>(); // pid → when we began waiting on it
  const acted = new Set<number>();
  const outcome: LockAwareOutcome = { waitedMs: 0, attempts: 0, blockers: [], actions: [] };
  let lastReport = 0;
  let lastKey = '';
  let timeouts = 0;
  let look = !options.guarded;
  const finish = () => {
    outcome.waitedMs = Date.now() - started;
    const named = [...seen].filter(([key]) => key !== 'timeout').map(([, d]) => d);
    outcome.blockers = [...new Set(named), ...(seen.has('timeout') ? [seen.get('timeout')!] : [])];
    return outcome;
  };
  for (;;) {
    const blockers = look ? await findBlockers(client, options.targets, minAge) : [];
    look = true;
    if (blockers.length > 0) {
      const now = Date.now();
      for (const b of blockers) {
        seen.set(`${b.pid}/${b.relation}`, describeBlocker(b));
        if (b.pid !== null && !firstSeen.has(b.pid)) firstSeen.set(b.pid, now);
      }
      await applyPolicy(client, blockers, firstSeen, acted, options, outcome, now);
      const key = blockers.map((b) => `${b.pid}/${b.relation}/${b.state}`).join(',');
      if (key !== lastKey || now - lastReport >= 1000) {
        lastKey = key;
        lastReport = now;
        options.onWait?.({
          what: options.what,
          waitingForMs: now - started,
          attempts: outcome.attempts,
          blockers: blockers.map(describeBlocker),
        });
      }
      if (now + pollMs > deadline) throw budgetSpent(options, finish());
      await sleep(pollMs);
      continue;
    }
    outcome.attempts++;
    try {
      const value = await attempt();
      return { value, outcome: finish() };
    } catch (error) {
      if ((error as { code?: string })?.code === BLOCKED_SQLSTATE) {
        outcome.attempts--; // the guard stopped it before it asked for a lock
        continue;
      }
      if (!isLockTimeout(error) || options.retry === false) throw error;
      timeouts++;
      seen.set('timeout', `lock_timeout (${options.lockTimeoutMs} ms) reached ${timeouts}×`);
      const backoff = Math.min(5_000, options.lockTimeoutMs * 2 ** Math.min(timeouts - 1, 8));
      const delay = backoff / 2 + Math.random() * (backoff / 2);
      options.onWait?.({
        what: options.what,
        waitingForMs: Date.now() - started,
        attempts: outcome.attempts,
        blockers: [`lock_timeout after ${options.lockTimeoutMs} ms; retrying`],
      });
      if (Date.now() + delay > deadline) throw budgetSpent(options, finish());
      await sleep(delay);
    }
  }
}

async function applyPolicy(
  client: Client,
  blockers: Blocker[],
  firstSeen: Map<number, number>,
  acted: Set<number>,
  options: LockAwareOptions,
  outcome: LockAwareOutcome,
  now: number,
): Promise<void> {
  const policy = options.policy;
  if (!policy || (policy.cancelAfterMs === undefined && policy.terminateIdleAfterMs === undefined))
    return;
  for (const b of blockers) {
    if (b.pid === null || acted.has(b.pid)) continue;
    const waited = now - (firstSeen.get(b.pid) ?? now);
    const idle = (b.state ?? '').startsWith('idle in transaction');
    const action: 'cancel' | 'terminate' | undefined =
      idle && policy.terminateIdleAfterMs !== undefined && waited >= policy.terminateIdleAfterMs
        ? 'terminate'
        : !idle && policy.cancelAfterMs !== undefined && waited >= policy.cancelAfterMs
          ? 'cancel'
          : undefined;
    if (!action) continue;
    acted.add(b.pid);
    const fn = action === 'cancel' ? 'pg_cancel_backend' : 'pg_terminate_backend';
    const { rows } = await client.query<{ ok: boolean }>(`SELECT ${fn}($1) AS ok`, [b.pid]);
    const done: BlockerAction = {
      action,
      pid: b.pid,
      blocker: `${describeBlocker(b)}; waited ${formatAge(waited)}`,
      succeeded: rows[0]?.ok === true,
    };
    outcome.actions.push(done);
    await options.record?.(done);
  }
}

function budgetSpent(options: LockAwareOptions, outcome: LockAwareOutcome): LockWaitTimeoutError {
  const who = outcome.blockers.length
    ? outcome.blockers.join('; ')
    : 'no session could be identified';
  return new LockWaitTimeoutError(
    `${options.what}: gave up after waiting ${formatAge(outcome.waitedMs)} (lock wait budget ${formatAge(options.budgetMs)}, ${outcome.attempts} attempt(s) with lock_timeout ${options.lockTimeoutMs} ms) for locks held by others: ${who}. End or wait for those sessions and retry, raise the budget (--lock-wait, environments.<name>.lockWait), or let pgshift cancel them (--cancel-blockers-after, --terminate-idle-blockers-after)`,
    outcome.blockers,
  );
}
