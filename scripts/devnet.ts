/**
 * npm start: the whole system on embedded defaults — compiles the batch circuit, runs the
 * (development) trusted setup on first use, starts anvil, deploys the contracts, and runs the
 * sequencer with its prover workers and HTTP API. Ctrl-C or SIGTERM stops everything.
 *
 *   npm start                              # default config, API :8080, chain :8545
 *   npm start -- --config test             # small circuit, fastest proofs
 *   npm start -- --ptau FILE               # keys from a public powers-of-tau ceremony
 *   PORT=9090 RPC_PORT=9545 npm start
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { configByName, initCrypto, generatePrivateKey, publicKeyOf, State, paramsKey, shapeKey, shapesOf } from "../core";
import { REPO_ROOT } from "../circuits/compile";
import { releaseSnarkjsCurve } from "../prover/keys";
import { shapeKeys } from "../prover/shape-keys";
import { createProver, parseBackend, parseProverMode } from "../prover/select";
import { startAnvil, ANVIL_DEV_PRIVATE_KEYS } from "../chain/anvil";
import { deployModex } from "../contracts/deploy";
import { createSequencer, serve, jsonLogger } from "../sequencer";

const HELP = `usage: npm start [-- --config test|default|production] [--ptau FILE] [--provers N]
                 [--backend native|snarkjs|command] [--prover-threads N] [--prover-command "CMD ARGS"] [--prover cluster --redis URL]
                 [--max-backlog-s S (default 60: half the 120 s acceptance margin)]
  PORT (default 8080) serves the API, RPC_PORT (default 8545) the chain.
  Proving is embedded (N worker processes here) unless --prover cluster: then jobs go to a BullMQ
  queue in Redis, and 'modex prover worker --redis URL --config NAME' processes prove them.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: "string" },
      ptau: { type: "string" },
      provers: { type: "string" },
      prover: { type: "string" },
      redis: { type: "string" },
      backend: { type: "string" },
      "prover-command": { type: "string" },
      "prover-threads": { type: "string" },
      "max-backlog-s": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const log = jsonLogger();
  const configName = values.config ?? process.env.MODEX_CONFIG ?? "default";
  const params = configByName(configName);
  const port = Number(process.env.PORT ?? 8080);
  const rpcPort = Number(process.env.RPC_PORT ?? 8545);
  const provers = values.provers ? Number(values.provers) : undefined;
  if (provers !== undefined && (!Number.isInteger(provers) || provers < 1)) throw new Error("--provers must be a positive integer");
  const proverMode = parseProverMode(values.prover);
  const backend = parseBackend(values.backend, values["prover-command"], values["prover-threads"], log);
  const redisUrl = values.redis ?? process.env.MODEX_REDIS_URL;
  const maxBacklogS = values["max-backlog-s"] === undefined ? undefined : Number(values["max-backlog-s"]);
  if (maxBacklogS !== undefined && !(Number.isFinite(maxBacklogS) && maxBacklogS >= 0)) throw new Error("--max-backlog-s must be a number of seconds ≥ 0");
  if (!Number.isInteger(port) || !Number.isInteger(rpcPort)) throw new Error("PORT and RPC_PORT must be integers");
  await initCrypto();

  log({ msg: "devnet.circuit", config: configName, params: paramsKey(params), shapes: shapesOf(params).map(shapeKey) });
  // One circuit and key set per batch shape (PROTOCOL.md §5.5), cached after the first start.
  const setupStart = performance.now();
  const shapes = await shapeKeys(params, { ptau: values.ptau, ensure: true });
  log({ msg: "devnet.keys_ready", shapes: shapes.map((s) => ({ shape: shapeKey(s.shape), constraints: s.circuit.constraints })), seconds: Math.round(performance.now() - setupStart) / 1000 });
  const keys = shapes[0].keys;
  await releaseSnarkjsCurve();

  const stateDir = path.join(REPO_ROOT, ".modex", "devnet");
  rmSync(stateDir, { recursive: true, force: true }); // a fresh chain each start: the sequencer's history goes with it
  mkdirSync(stateDir, { recursive: true });

  const anvil = await startAnvil({ port: rpcPort, chainId: 31337 });
  const stops: (() => Promise<unknown>)[] = [() => anvil.stop()];
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ msg: "devnet.stopping", signal });
    for (const stop of stops.reverse()) await stop().catch((e) => log({ level: "error", msg: "devnet.stop_failed", error: String(e) }));
    log({ msg: "devnet.stopped" });
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  try {
    const operatorKey = generatePrivateKey();
    writeFileSync(path.join(stateDir, "operator-key.json"), JSON.stringify({ privateKey: operatorKey }, null, 2), { mode: 0o600 });
    const deployment = await deployModex({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_DEV_PRIVATE_KEYS[0],
      shapes: shapes.map((s) => ({ shape: s.shape, verifierSource: s.keys.verifierPath })),
      params,
      genesisRoot: new State(params).root,
      operatorKey: publicKeyOf(operatorKey),
    });
    const prover = await createProver({
      mode: proverMode,
      artifacts: shapes.map((s) => s.artifacts),
      workers: provers,
      backend,
      redisUrl,
      log,
    });
    stops.push(() => prover.close());
    const sequencer = await createSequencer({
      params,
      db: path.join(stateDir, "sequencer.sqlite"),
      l1: { rpcUrl: anvil.rpcUrl, rollup: deployment.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: deployment.deployBlock },
      prover,
      markets: "auto",
      maxBacklogS,
      shapeCircuits: shapes.map((s) => ({ shape: s.shape, constraints: s.circuit.constraints, circuitHash: s.circuit.circuitHash, vkeyPath: s.keys.vkeyPath })),
      log,
    });
    stops.push(() => sequencer.stop());
    await sequencer.start();
    const api = await serve(sequencer, port, { log });
    stops.push(() => api.close());

    const info = {
      api: api.url,
      rpc: anvil.rpcUrl,
      chainId: deployment.chainId,
      rollup: deployment.rollup,
      verifier: deployment.verifier,
      shapes: shapes.map((s, i) => ({ shape: shapeKey(s.shape), constraints: s.circuit.constraints, circuitHash: s.circuit.circuitHash, verifier: deployment.verifiers[i]?.address })),
      deployBlock: deployment.deployBlock.toString(),
      tokens: [{ id: 0, symbol: "ETH" }, ...deployment.tokens.map((t) => ({ id: t.id, symbol: t.symbol, decimals: t.decimals, address: t.address }))],
      markets: sequencer.markets(),
      config: configName,
      params,
      l1Params: { forcedDeadlineBlocks: deployment.forcedDeadlineBlocks, maxTimestampLag: deployment.maxTimestampLag },
      keys: { source: keys.manifest.source, insecure: shapes.some((s) => s.keys.manifest.insecure), dirs: shapes.map((s) => s.keys.dir) },
      devL1PrivateKeys: ANVIL_DEV_PRIVATE_KEYS.slice(1),
    };
    writeFileSync(path.join(REPO_ROOT, ".modex", "devnet.json"), JSON.stringify(info, null, 2));
    console.log(
      [
        "",
        "Modex devnet is up.",
        `  API      ${api.url}   (GET /v1/status)`,
        `  chain    ${anvil.rpcUrl}   chainId ${deployment.chainId}`,
        `  rollup   ${deployment.rollup}`,
        `  tokens   ${info.tokens.map((t) => `${t.id}=${t.symbol}`).join(" ")}`,
        `  markets  ${info.markets.map((m) => `${m.id} (maker ${m.makerFeeBips} bips, taker ${m.takerFeeBips} bips)`).join(", ") || "none"}`,
        `  stream   ${api.streamUrl}`,
        `  config   ${configName} (${paramsKey(params)}), ${info.keys.insecure ? "INSECURE development keys" : "ceremony keys"}`,
        `  shapes   ${shapes.map((s) => `${shapeKey(s.shape)} (${s.circuit.constraints.toLocaleString("en-US")} constraints)`).join(", ")}`,
        proverMode === "cluster"
          ? `  provers  cluster on ${redisUrl}: start workers with  npx modex prover worker --redis ${redisUrl} --config ${configName}`
          : "  provers  embedded worker processes; operator view: npx modex prover status, GET /metrics",
        "  details  .modex/devnet.json    try: npm run demo    stop: Ctrl-C",
        "",
      ].join("\n"),
    );
  } catch (e) {
    log({ level: "error", msg: "devnet.failed", error: e instanceof Error ? e.message : String(e) });
    await shutdown("error");
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
