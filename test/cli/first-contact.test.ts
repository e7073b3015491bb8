import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { pgshiftProcessArgs } from '../support/temporal';
import { runCli } from './run-cli';

const version = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
const dir = mkdtempSync(join(tmpdir(), 'pgshift-first-contact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the CLI at first contact', () => {
  it('prints its version with --version and -V', async () => {
    for (const flag of ['--version', '-V']) {
      const run = await runCli([flag]);
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toBe(version);
    }
  });

  it('prints the help of every command without loading the Temporal SDK or the workflow contracts', () => {
    // A preload records every module the CLI loads: help must stay instant (it took 0.4 s
    // when each command module loaded the SDK, zod and the contracts to register its options).
    const preload = join(dir, 'record-loads.cjs');
    const record = join(dir, 'loaded.json');
    writeFileSync(
      preload,
      `const Module = require('node:module'); const fs = require('node:fs');
const loaded = new Set(); const load = Module._load;
Module._load = function (request, parent) {
  try { loaded.add(Module._resolveFilename(request, parent)); } catch {}
  return load.apply(this, arguments);
};
process.on('exit', () => fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify([...loaded])));`,
    );
    const [command, argv] = pgshiftProcessArgs(['--help']);
    const run = spawnSync(command, ['--require', preload, ...argv], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    for (const name of ['migrate', 'rehearse', 'deploy', 'approve', 'rollback', 'fleet', 'list'])
      expect(run.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    const heavy = (JSON.parse(readFileSync(record, 'utf8')) as string[]).filter((file) =>
      /[\\/](@temporalio|zod)[\\/]|[\\/]workflows[\\/]definitions\./.test(file),
    );
    expect(heavy).toEqual([]);
  });

  it('calls a malformed DATABASE_URL a usage error naming the variable, not an unreachable server', async () => {
    const run = await runCli(['migrate', 'status'], { DATABASE_URL: 'notaurl' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('DATABASE_URL is not a PostgreSQL URL');
    expect(run.stderr).not.toContain('cannot reach');
  });

  it('names --database-url when the malformed URL came from the flag, without repeating it', async () => {
    const run = await runCli([
      'migrate',
      'status',
      '--database-url',
      'mysql://admin:s3cret@db.example/app',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--database-url is a mysql:// URL, not a PostgreSQL one');
    expect(run.stderr).not.toContain('s3cret');
  });

  it('names TEST_DATABASE_URL when it is malformed', async () => {
    const run = await runCli(['test', 'rollback', '--all'], {
      TEST_DATABASE_URL: 'localhost:5432',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('TEST_DATABASE_URL');
  });

  it('names a config file given with --config that does not exist', async () => {
    const missing = join(dir, 'nope.json');
    const run = await runCli(['config', 'check', '--config', missing]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`config file ${missing} does not exist (named by --config)`);
  });

  it('calls an environment the config does not configure unknown, listing the configured ones', async () => {
    const config = join(dir, 'pgshift.config.json');
    writeFileSync(config, JSON.stringify({ environments: { staging: {}, production: {} } }));
    const run = await runCli(['verify', '--env', 'prodution'], {
      PGSHIFT_CONFIG: config,
      PRODUTION_DATABASE_URL: undefined,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown environment "prodution"');
    expect(run.stderr).toContain('configures staging, production');
  });
});

describe('starting a workflow with no worker', () => {
  it('says that no worker polls the task queue instead of waiting silently', async () => {
    const { Client, Connection } = await import('@temporalio/client');
    const stamp = Date.now();
    const taskQueue = `nobody-polls-${stamp}`;
    const environment = `lonely_${stamp}`;
    const run = await runCli(['rehearse', '--env', environment, '--dir', 'migrations'], {
      PGSHIFT_TASK_QUEUE: taskQueue,
      [`LONELY_${stamp}_DATABASE_URL`]: 'postgresql://nobody@127.0.0.1:1/none',
    });
    const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    try {
      const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE });
      for await (const execution of client.workflow.list({
        query: `TaskQueue = '${taskQueue}'`,
      }))
        await client.workflow.getHandle(execution.workflowId).terminate('test finished');
    } finally {
      await connection.close();
    }
    expect(run.stderr).toContain(`no worker is polling task queue "${taskQueue}"`);
    expect(run.code).toBe(0);
  });
});
