#!/usr/bin/env node
'use strict';
// Process-wide settings belong to the program, not to the library (src/ may be imported by
// other programs): both are made here, before anything is loaded.

// The WebAssembly PostgreSQL parser (libpg-query) is compiled by V8's baseline compiler only.
// By default V8 also recompiles its hot functions with TurboFan, and the grammar's functions
// are so large that this costs far more than it saves: `migrate up` of 200 migrations spends
// 0.38 instead of 0.65 CPU-seconds (bench/RESULTS.md, Issue 15). It only affects WebAssembly.
require('node:v8').setFlagsFromString('--liftoff-only');

// pg decides when it is loaded whether it runs in Cloudflare Workers. Without a `navigator`
// global (Node 20; Node 21+ defines one) it constructs a fetch `Response` to find out, which
// loads Node's HTTP client (undici) for nothing: 30 ms of CPU on every command. A `navigator`
// like Node 21's answers the question; it exists only while pg loads.
if (typeof globalThis.navigator === 'undefined') {
  globalThis.navigator = { userAgent: `Node.js/${process.versions.node.split('.')[0]}` };
  try {
    require('pg');
  } finally {
    delete globalThis.navigator;
  }
}

require('../dist/src/cli/main.js').main(process.argv);
