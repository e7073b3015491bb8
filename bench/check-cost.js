'use strict';
// What checking a migrations folder costs a fresh process, as `pgshift migrate up` pays it
// before its first batch: requiring the migration library, then loadPlan (parser load, reading
// every file, headers, parsing the forward files). Prints one JSON line.
//   node bench/check-cost.js <migrations dir>        (after npm run build)
const { join } = require('node:path');

require('node:v8').setFlagsFromString('--liftoff-only'); // as bin/pgshift.js
const started = process.hrtime.bigint();
const cpu = process.cpuUsage();
const { loadPlan } = require(join(__dirname, '..', 'dist', 'src', 'migrations', 'files.js'));
const required = process.hrtime.bigint();
loadPlan(process.argv[2], { sqlCheck: 'forward' }).then((plan) => {
  const loaded = process.hrtime.bigint();
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    `${JSON.stringify({
      migrations: plan.migrations.length,
      requireMs: Number(required - started) / 1e6,
      loadPlanMs: Number(loaded - required) / 1e6,
      cpuMs: (used.user + used.system) / 1000,
    })}\n`,
  );
});
