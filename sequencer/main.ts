/**
 * Runs one sequencer node (sequencer + HTTP API + embedded prover pool) until SIGINT/SIGTERM.
 *
 *   tsx sequencer/main.ts --rollup 0x… [--config test|default|production] [--db modex.sqlite]
 *     [--rpc http://127.0.0.1:8545] [--port 8080] [--host 127.0.0.1] [--from-block N]
 *     [--batch-timeout-ms 2000] [--keys-dir DIR] [--no-prove] [--markets FILE|auto|none]
 *     [--prover embedded|cluster] [--workers N] [--backend native|snarkjs|command] [--prover-threads N] [--prover-command "CMD ARGS"]
 *     [--redis redis://127.0.0.1:6379] [--max-backlog-s 60]
 *
 * Proving: embedded (default) runs N worker processes here; cluster puts jobs on a BullMQ queue in
 * Redis for `modex prover worker --redis URL` processes on any machine with the same artifacts.
 *
 * The submitter key comes from $MODEX_SUBMITTER_KEY (default: anvil dev account 0, devnets only).
 * Proving keys must exist (`npm run setup -- --config …`); this never generates keys by itself.
 * Logs are JSON lines on stderr; the line with msg "api.listening" carries the URL.
 */
import { parseArgs } from "node:util";
import type { Hex } from "viem";
import { ANVIL_DEV_PRIVATE_KEY } from "../chain/anvil";
import { configByName, type Params } from "../core/params";
import { shapeKeys } from "../prover/shape-keys";
import type { ShapeCircuit } from "./shapes";
import { createProver, parseBackend, parseProverMode, type ProverMode } from "../prover/select";
import type { Prover, ProverBackend } from "../prover/types";
import { serve } from "./api";
import { errorMessage, jsonLogger, type LogFn } from "./log";
import { createSequencer } from "./sequencer";
import { loadMarketsFile } from "./markets";

interface Cli {
  readonly config: string;
  readonly db: string;
  readonly rpc: string;
  readonly rollup: Hex;
  readonly port: number;
  readonly host: string;
  readonly fromBlock?: bigint;
  readonly batchTimeoutMs?: number;
  /** Refuse new L2 work (503) past this many seconds of proving backlog. */
  readonly maxBacklogS?: number;
  readonly workers?: number;
  readonly keysDir?: string;
  readonly prove: boolean;
  readonly markets: "auto" | "none" | string;
  readonly proverMode: ProverMode;
  readonly backend: ProverBackend;
  readonly redisUrl?: string;
}

function parseCli(argv: string[]): Cli {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      config: { type: "string" },
      db: { type: "string" },
      rpc: { type: "string" },
      rollup: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      "from-block": { type: "string" },
      "batch-timeout-ms": { type: "string" },
      "max-backlog-s": { type: "string" },
      workers: { type: "string" },
      "keys-dir": { type: "string" },
      "no-prove": { type: "boolean" },
      markets: { type: "string" },
      prover: { type: "string" },
      backend: { type: "string" },
      "prover-command": { type: "string" },
      "prover-threads": { type: "string" },
      redis: { type: "string" },
    },
  });
  const int = (name: string, s: string | undefined, min: number): number | undefined => {
    if (s === undefined) return undefined;
    if (!/^\d+$/.test(s) || Number(s) < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return Number(s);
  };
  if (!v.rollup || !/^0x[0-9a-fA-F]{40}$/.test(v.rollup)) throw new Error("--rollup 0x<address> is required");
  return {
    config: v.config ?? process.env.MODEX_CONFIG ?? "default",
    db: v.db ?? "modex.sqlite",
    rpc: v.rpc ?? "http://127.0.0.1:8545",
    rollup: v.rollup as Hex,
    port: int("port", v.port, 0) ?? 8080,
    host: v.host ?? "127.0.0.1",
    fromBlock: v["from-block"] === undefined ? undefined : BigInt(int("from-block", v["from-block"], 0) ?? 0),
    batchTimeoutMs: int("batch-timeout-ms", v["batch-timeout-ms"], 1),
    maxBacklogS: int("max-backlog-s", v["max-backlog-s"], 0),
    workers: int("workers", v.workers, 1),
    keysDir: v["keys-dir"],
    prove: !v["no-prove"],
    markets: v.markets ?? "auto",
    proverMode: parseProverMode(v.prover),
    backend: parseBackend(v.backend, v["prover-command"], v["prover-threads"]),
    redisUrl: v.redis ?? process.env.MODEX_REDIS_URL,
  };
}

/** Stands in when proving is off: the sequencer never calls it then. */
const NO_PROVER: Prover = {
  pending: 0,
  prove: (job) => Promise.reject(new Error(`batch ${job.batchNumber}: proving is disabled (--no-prove)`)),
  close: async () => undefined,
};

/** The prover of every batch shape's circuit (PROTOCOL.md §5.5), and what the sequencer needs of each shape. */
async function proverFor(p: Params, cli: Cli, log: LogFn): Promise<{ prover: Prover; shapeCircuits?: ShapeCircuit[] }> {
  if (!cli.prove) return { prover: NO_PROVER };
  const shapes = await shapeKeys(p, { keysRoot: cli.keysDir, log, setupHint: `npm run setup -- --config ${cli.config}` });
  const prover = await createProver({
    mode: cli.proverMode,
    artifacts: shapes.map((s) => s.artifacts),
    workers: cli.workers,
    backend: cli.backend,
    redisUrl: cli.redisUrl,
    log,
  });
  return { prover, shapeCircuits: shapes.map((s) => ({ shape: s.shape, constraints: s.circuit.constraints, circuitHash: s.circuit.circuitHash, vkeyPath: s.keys.vkeyPath })) };
}

async function main(): Promise<void> {
  const log = jsonLogger((process.env.MODEX_LOG_LEVEL as "debug" | "info" | "warn" | "error" | undefined) ?? "info");
  const cli = parseCli(process.argv.slice(2));
  const params = configByName(cli.config);
  const { prover, shapeCircuits } = await proverFor(params, cli, log);
  const seq = await createSequencer({
    params,
    db: cli.db,
    l1: { rpcUrl: cli.rpc, rollup: cli.rollup, privateKey: (process.env.MODEX_SUBMITTER_KEY as Hex | undefined) ?? ANVIL_DEV_PRIVATE_KEY, fromBlock: cli.fromBlock },
    prover,
    proving: cli.prove,
    batchTimeoutMs: cli.batchTimeoutMs,
    maxBacklogS: cli.maxBacklogS,
    ...(shapeCircuits ? { shapeCircuits } : {}),
    markets: cli.markets === "auto" ? "auto" : cli.markets === "none" ? [] : loadMarketsFile(cli.markets),
    log,
  });
  const api = await serve(seq, cli.port, { host: cli.host, log });
  await seq.start();

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log({ msg: "node.shutdown", signal });
    // API first (no new txs), then the sequencer (waits for its running step), then the workers.
    void api
      .close()
      .then(() => seq.stop())
      .then(() => prover.close())
      .then(() => process.exit(0))
      .catch((e) => {
        log({ level: "error", msg: "node.shutdown_failed", error: errorMessage(e) });
        process.exit(1);
      });
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((e) => {
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level: "error", msg: "node.failed", error: errorMessage(e) }) + "\n");
  process.exit(1);
});
