// Lets @stryker-mutator/mocha-runner 10.1.1 load mocha 12's CLI internals.
//
// The runner requires `mocha/lib/cli/run-helpers` and `mocha/lib/cli/options` without an
// extension; mocha 12 ships them as `.cjs`, which Node's CommonJS resolver does not try, so the
// plugin throws on import. Adding `.cjs` to the extensions the resolver tries (after `.js`,
// `.json`, `.node`) is enough. Loaded by stryker.config.mjs in Stryker's own process and with
// `--require` in its test-runner processes. Remove once the runner probes `.cjs` itself
// (stryker-js pull request 6205, open as of 2026-12).
'use strict';
const Module = require('node:module');
if (!Module._extensions['.cjs']) Module._extensions['.cjs'] = Module._extensions['.js'];
