/**
 * What each key of `pgshift.config.json` means, by path (`<name>` stands for any
 * environment, `[]` for any array item). Used for the JSON Schema's descriptions (editor
 * hovers) and the README's configuration reference (`scripts/config-reference.ts`).
 */
export const CONFIG_KEY_DESCRIPTIONS: Record<string, string> = {
  $schema: 'Path or URL of this JSON Schema, for editors.',
  migrationsDir: 'Folder of the numbered migration files and their rollback files.',
  reportsDir: 'Where rehearsal, deployment and incident reports are written.',
  backupsDir:
    'Where pg_dump backups and their manifests are kept (files readable by the owner only).',
  environments:
    'Settings per environment name (lowercase letters, digits, - and _, so `Production` can never alias `production`). An environment not listed here still works with every default.',
  'environments.<name>': 'One environment, e.g. "staging" or "production".',
  'environments.<name>.databaseUrlEnv':
    'NAME of the environment variable holding the database URL (never the URL itself). Default: `<NAME>_DATABASE_URL`, e.g. `STAGING_DATABASE_URL`.',
  'environments.<name>.tier':
    '`production`, `staging` or `development`, enforced by the worker: a staging rehearsal refuses a production-tier environment, and a data-losing emergency rollback there needs an approval. Default: `production` for the environment named production and for any environment with `requireRehearsalFrom`, otherwise `staging`.',
  'environments.<name>.lockTimeout':
    'lock_timeout of each attempt to apply a migration: an attempt never makes traffic queue behind it for longer; a timed-out attempt is retried (backoff with jitter) within `lockWait`.',
  'environments.<name>.lockWait':
    'How long one migration may wait for locks other sessions hold, over all attempts. pgshift waits without queueing while it sees a conflicting session (and names it); when the budget is spent the migration fails with LockWaitTimeoutError naming the blockers.',
  'environments.<name>.cancelBlockersAfter':
    'Opt-in: cancel (pg_cancel_backend) an active query that has blocked a migration this long. Never by default; every cancellation is reported and recorded in pgshift.blocker_actions.',
  'environments.<name>.terminateIdleBlockersAfter':
    'Opt-in: terminate (pg_terminate_backend) an idle-in-transaction session that has blocked a migration this long. Never by default; recorded in pgshift.blocker_actions.',
  'environments.<name>.statementTimeout': 'statement_timeout set for every migration.',
  'environments.<name>.requireRehearsalFrom':
    'A production deploy requires a passing rehearsal of the same plan on this environment (null: none). Default: "staging" for the environment named production, otherwise none.',
  'environments.<name>.healthChecks':
    'HTTP health checks of the application (post-deployment verification, monitoring window).',
  'environments.<name>.healthChecks[].name': 'Name shown in reports and the CLI.',
  'environments.<name>.healthChecks[].url': 'URL fetched with GET (http:// or https://).',
  'environments.<name>.healthChecks[].maxLatencyMs':
    'Slower answers count as failures (the guide: response time > 2 s).',
  'environments.<name>.healthChecks[].expectStatus': 'Expected HTTP status.',
  'environments.<name>.healthChecks[].timeoutMs': 'Give up on the request after this long.',
  'environments.<name>.criticalTables':
    'Tables whose row counts must not drop across a deploy (`schema.table` or `table`).',
  'environments.<name>.checks': 'SQL checks run read-only after a deploy and in rehearsals.',
  'environments.<name>.checks[].name': 'Name shown in reports and the CLI.',
  'environments.<name>.checks[].sql':
    'The query, run in a READ ONLY transaction with a statement timeout.',
  'environments.<name>.checks[].expect':
    '"non-empty" (at least one row), "zero-rows", or `{ "equals": value }` (first column of the first row).',
  'environments.<name>.checks[].expect.equals':
    'The value the first column of the first row must equal.',
  'environments.<name>.app': 'The application deployed with the migrations.',
  'environments.<name>.app.deploy':
    'Hook that deploys the application version: a command (`{ "command": [...] }`, run with execFile, `{version}` replaced) or an HTTP request (`{ "url": ... }`).',
  'environments.<name>.app.rollback':
    'Hook that rolls the application back; same forms as `deploy`. `{version}` is the version to go back to (empty when unknown): a hook that goes to that version and treats already being there as success is safe to retry after a worker crash.',
  'environments.<name>.app.deploy.command':
    'Program and arguments (no shell); `{version}` is replaced by the version.',
  'environments.<name>.app.deploy.env': 'Extra environment variables for the command.',
  'environments.<name>.app.deploy.cwd': 'Working directory of the command.',
  'environments.<name>.app.deploy.timeoutMs': 'The hook fails after this long.',
  'environments.<name>.app.deploy.url':
    "URL receiving a POST/PUT whose JSON body holds the hook's variables (`version`); `{version}` in the URL is replaced too.",
  'environments.<name>.app.deploy.method': 'HTTP method of the request.',
  'environments.<name>.app.deploy.headers': 'Extra HTTP headers of the request.',
  'environments.<name>.app.rollback.command':
    'Program and arguments (no shell); `{version}` is replaced by the version.',
  'environments.<name>.app.rollback.env': 'Extra environment variables for the command.',
  'environments.<name>.app.rollback.cwd': 'Working directory of the command.',
  'environments.<name>.app.rollback.timeoutMs': 'The hook fails after this long.',
  'environments.<name>.app.rollback.url':
    "URL receiving a POST/PUT whose JSON body holds the hook's variables (`version`); `{version}` in the URL is replaced too.",
  'environments.<name>.app.rollback.method': 'HTTP method of the request.',
  'environments.<name>.app.rollback.headers': 'Extra HTTP headers of the request.',
  'environments.<name>.app.versionUrl':
    'URL answering the running application version (JSON `{ "version": ... }`).',
  'environments.<name>.app.metricsUrl':
    'JSON metrics of the application (`errorRatePercent`, or `requests` and `errors`) for the error-rate trigger.',
  'environments.<name>.approvals':
    'Who must approve a production deploy, and for how long a deploy waits.',
  'environments.<name>.approvals.requiredRoles':
    'Roles that must each approve (one distinct person per role).',
  'environments.<name>.approvals.highRiskRoles':
    'Extra roles for high-risk changes (destructive or lock-heavy statements, or a migration marked high-risk).',
  'environments.<name>.approvals.roster':
    'Role → the people who hold it; `"*"` opens a role to anyone.',
  'environments.<name>.approvals.expiry':
    'A deploy not fully approved by then ends as approval-expired with no change made.',
  'environments.<name>.approvals.reminderEvery':
    'Reminder to the notification hook while approvals are missing.',
  'environments.<name>.approvals.allowInitiator':
    'Whether the person who started a deploy may approve it.',
  'environments.<name>.approvals.allowedSigners':
    'Path (relative to this config file) of an OpenSSH allowed-signers file, the format git uses for SSH signing: `<person> ssh-ed25519 AAAA…` per line (also `sk-ssh-ed25519@openssh.com`; `namespaces=`, `valid-after=`, `valid-before=` honoured). Approvals, rejections, cancels, break-glass, waivers and starts signed with `ssh-keygen -Y sign -n pgshift` are verified against it; a key removed from the file is revoked.',
  'environments.<name>.approvals.requireSignatures':
    'Refuse decisions that are not signed by a key in `allowedSigners`. Default: true for a production environment, false otherwise.',
  'environments.<name>.thresholds':
    "The guide's immediate-rollback triggers, watched during the monitoring window.",
  'environments.<name>.thresholds.errorRatePercent':
    'Roll back when the application error rate exceeds this.',
  'environments.<name>.thresholds.responseTimeMs':
    'Roll back when health-check latency exceeds this.',
  'environments.<name>.thresholds.dbConnectionsPercent':
    'Roll back when connections exceed this share of max_connections.',
  'environments.<name>.thresholds.performanceDegradationPercent':
    'Roll back when probe latency is this much worse than the baseline measured before the deploy.',
  'environments.<name>.thresholds.consecutiveHealthFailures':
    'Roll back after this many failing health checks in a row.',
  'environments.<name>.monitoringWindow':
    'How long a deploy watches the thresholds after migrating before it completes.',
  'environments.<name>.monitoringInterval':
    'Time between two samples of the monitoring window (and of the rollback watch); a window may hold at most 2000 samples.',
  'environments.<name>.rollbackWindow':
    'How long an emergency rollback watches the thresholds afterwards.',
  'environments.<name>.notify': 'Where notifications go (Slack-compatible JSON webhook).',
  'environments.<name>.notify.webhookUrlEnv':
    'NAME of the environment variable holding the webhook URL (keeps the secret out of the file).',
  'environments.<name>.notify.webhookUrl': 'The webhook URL itself (only when it is not a secret).',
  'environments.<name>.emergency': 'Emergency rollback policy.',
  'environments.<name>.emergency.requireApprovalForDataLoss':
    'A rollback that would lose data waits for one approval (unless break-glass).',
  'environments.<name>.emergency.approvers':
    'Who may approve a data-losing rollback; default: anyone on the approvals roster.',
  'environments.<name>.emergency.postMortemDueIn':
    'Due date of the post-mortem written in the incident document.',
  'environments.<name>.emergency.keepPreservedDatabase':
    'A full rollback by restore keeps the database it replaced (renamed `<database>_pre_<id>`, with every write up to the swap) and archives it with pg_dump as the emergency backup; by default the kept database is dropped once the archive is complete, true keeps it too.',
  'environments.<name>.rehearsal': 'Staging rehearsal settings.',
  'environments.<name>.rehearsal.rollbackDepth':
    'How many of the newest migrations the rehearsal rolls back and re-applies.',
};
