/**
 * A command-line deploy/rollback hook for the example app, to demonstrate command hooks
 * (pgshift runs it with execFile, never through a shell):
 *
 *   node dist/example-app/hook.js deploy <version> --url http://127.0.0.1:3100
 *   node dist/example-app/hook.js rollback [<version>] --url http://127.0.0.1:3100
 *
 * ADMIN_TOKEN from the environment is sent as a bearer token. Exit 0 on success, 1 otherwise.
 */
export async function runHookCommand(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [action, ...rest] = argv;
  const urlIndex = rest.indexOf('--url');
  const base = urlIndex >= 0 ? rest[urlIndex + 1] : env.EXAMPLE_APP_URL;
  const positional =
    urlIndex >= 0 ? [...rest.slice(0, urlIndex), ...rest.slice(urlIndex + 2)] : rest;
  if (
    !base ||
    (action !== 'deploy' && action !== 'rollback') ||
    (action === 'deploy' && !positional[0])
  ) {
    process.stderr.write(
      'usage: hook.js deploy <version> --url <app url> | hook.js rollback [<version>] --url <app url>\n',
    );
    return 2;
  }
  // A rollback to a named version is idempotent (a retried hook does not go back twice).
  const body = positional[0] ? { version: positional[0] } : {};
  const response = await fetch(new URL(`/admin/${action}`, base), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(env.ADMIN_TOKEN ? { authorization: `Bearer ${env.ADMIN_TOKEN}` } : {}),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  process.stdout.write(
    `${action} ${response.ok ? 'ok' : 'failed'} (HTTP ${response.status}): ${text}\n`,
  );
  return response.ok ? 0 : 1;
}

if (require.main === module) {
  runHookCommand(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`hook: ${error.message}\n`);
      process.exit(1);
    },
  );
}
