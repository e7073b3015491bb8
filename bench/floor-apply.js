'use strict';
// The least any Node program can do to apply what `pgshift migrate up` applies: load pg,
// connect, and send pgshift's own queries (captured by bench/migrate.bench.ts: the ledger
// set-up, the per-file transactions with their lock guards and ledger rows, in the same
// round trips), with no CLI, no file reading and no parsing. Plain JavaScript, so that
// nothing but Node and pg is loaded.
//   node bench/floor-apply.js <queries.json>     (DATABASE_URL names the database)
const { readFileSync } = require('node:fs');

// As bin/pgshift.js does: without a `navigator`, pg loads Node's HTTP client when loaded.
globalThis.navigator = { userAgent: `Node.js/${process.versions.node.split('.')[0]}` };
const { Client } = require('pg');
delete globalThis.navigator;

async function main() {
  const queries = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const client = new Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    for (const { text, values } of queries) await client.query(text, values);
  } finally {
    await client.end();
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exitCode = 1;
});
