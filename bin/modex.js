#!/usr/bin/env node
// The modex CLI is TypeScript (cli/main.ts); tsx's require hook compiles it on load (and caches),
// so the repository needs no build step.
"use strict";
require("tsx/cjs");
const { main } = require("../cli/main.ts");

main(process.argv.slice(2)).then(
  // Exit explicitly: open HTTP keep-alive sockets must not hold a finished command.
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`modex: internal error: ${(err && err.stack) || err}\n`);
    process.exit(1);
  },
);
