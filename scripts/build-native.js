#!/usr/bin/env node
/**
 * Builds native/ (the Groth16 prover and hashing addon, and the modex-prover executable) with node-gyp.
 * Run by `npm ci` (the install script) and by `npm run build:native`.
 *
 * A machine without a C++ toolchain must still install: on failure this prints why, records it in
 * native/build/status.json and exits 0; Modex then proves with snarkjs and says so once at startup.
 * MODEX_NATIVE=off skips the build.
 */
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const nativeDir = path.join(__dirname, "..", "native");
const buildDir = path.join(nativeDir, "build");
const statusFile = path.join(buildDir, "status.json");

function writeStatus(status) {
  fs.mkdirSync(buildDir, { recursive: true });
  fs.writeFileSync(statusFile, JSON.stringify({ ...status, at: new Date().toISOString() }, null, 2) + "\n");
}

function nodeGypCommand() {
  // npm sets npm_config_node_gyp for lifecycle scripts; otherwise use the node-gyp bundled with npm.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return [process.execPath, fromNpm];
  const prefix = path.dirname(path.dirname(process.execPath));
  for (const candidate of [
    path.join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    path.join(prefix, "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ]) {
    if (fs.existsSync(candidate)) return [process.execPath, candidate];
  }
  return ["node-gyp"];
}

function main() {
  if ((process.env.MODEX_NATIVE ?? "").toLowerCase() === "off") {
    writeStatus({ ok: false, reason: "skipped: MODEX_NATIVE=off" });
    console.log("modex: native build skipped (MODEX_NATIVE=off); proving falls back to snarkjs");
    return;
  }
  const [cmd, ...pre] = nodeGypCommand();
  const started = Date.now();
  console.log("modex: building the native prover and hashing (native/, node-gyp) ...");
  const args = [...pre, "rebuild", "--jobs", "max"];
  // Build against the headers installed with this Node (no download: installs may be offline).
  const prefix = path.dirname(path.dirname(process.execPath));
  if (!process.env.npm_config_nodedir && fs.existsSync(path.join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);
  const res = spawnSync(cmd, args, { cwd: nativeDir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (res.status === 0) {
    writeStatus({ ok: true, seconds: Number(seconds) });
    console.log(`modex: native build done in ${seconds} s`);
    return;
  }
  const output = `${res.stderr ?? ""}${res.stdout ?? ""}`.trim().split("\n").slice(-15).join("\n");
  const reason = res.error ? res.error.message : `node-gyp exited with ${res.status}`;
  writeStatus({ ok: false, reason, output });
  console.warn(`modex: WARNING: the native build failed (${reason}); Modex will prove with snarkjs (about 8x slower) and hash in JavaScript (15-30x slower).\n${output}`);
}

main();
