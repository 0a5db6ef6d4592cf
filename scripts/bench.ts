/**
 * npm run bench: constraints per operation, setup time, witness and proof time per batch size,
 * gas per batch and per operation. Prints a table and writes bench/results/latest.json.
 *
 * The "prover" section (bench/prover.ts) measures the prover pool: proof time per batch size and
 * backend, embedded pool and cluster (Redis) throughput, and, joined with the gas section's
 * submitBatch time, what verification and submission add to a batch's proof time.
 *
 *   npm run bench                 # test + default configs, gas on anvil (test config), prover pool
 *   npm run bench -- --quick      # test config only (shorter prover runs)
 *   npm run bench -- --fresh-setup  # time the development setup from scratch (temp key dir)
 *   npm run bench -- --only prover        # some sections only: constraints,proving,gas,trading,hashing,prover,audit
 *   npm run bench -- --only hashing       # Poseidon and EdDSA verification, native addon vs JavaScript
 *   npm run bench -- --only prover,gas    # the prover section with this run's submission time
 *   npm run bench -- --out FILE   # write FILE instead of bench/results/latest.json
 *   npm run bench -- --only prover --prover-parts ab,pinned   # some prover parts only: ab,proof,embedded,cluster,pinned
 *   npm run bench -- --only prover --prover-parts ab --big    # also the ~2^20-constraint batch side by side
 *
 * The "escape" section (bench/escape.ts) measures the gas of forced withdrawals and the escape hatch
 * (request, the batch that processes it, freeze, exit, refund, claim) for the test, default and
 * production parameters, with core-built batches and an accept-anything verifier.
 *
 * The "fuzz" section (bench/fuzz.ts) runs the witness-mutation fuzzer of test/fuzz: 10,000 mutants
 * (1,000 with --quick), each rejected by the circuit, rejected by the contract, or accepted with
 * exactly core's outcome; any accepted-divergent mutant is a soundness bug.
 *
 * The "sustained" section (bench/sustained.ts) runs the devnet with real proofs under an open-loop
 * load at a trading mix, stepping the offered rate up until the backlog is unbounded or work is
 * refused (503): per step offered/acknowledged/finalized operations/s, ack → finalized p50/p99, 503s,
 * backlog over time and the noop share of proved constraints. Minutes per step (--sustained-step-s).
 *
 * With --only, the sections run replace theirs in the output file and the others are kept.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as snarkjs from "snarkjs";
import { encodeFunctionData, decodeEventLog, toHex as viemHex } from "viem";
import {
  CONFIGS, FEE_TOKENS_AT, initCrypto, generatePrivateKey, publicKeyOf, signMessage, txMessage, State, buildBatch,
  QUEUE_REGISTER, QUEUE_DEPOSIT, type QueueRecord, type L2Tx, paramsKey, withdrawBitmap,
  orderMessage, type Order, type FillOp,
} from "../core";
import { compileCircuit } from "../circuits/compile";
import { batchCircuitName, batchCircuitSource } from "../circuits/batch";
import { ensureKeys } from "../prover/keys";
import { startAnvil, ANVIL_DEV_PRIVATE_KEYS } from "../chain/anvil";
import { deployModex } from "../contracts/deploy";
import { connectL1 } from "../contracts/clients";
import { rollupAbi, testTokenAbi } from "../contracts/abi";
import { proofToSolidity } from "../contracts/proof";
import { benchMatching } from "../bench/matching";
import { benchOrderLatency } from "../bench/latency";
import { benchEddsa } from "../bench/eddsa";
import { benchPoseidon } from "../bench/poseidon";
import { benchAudit } from "../bench/audit";
import { benchEscape } from "../bench/escape";
import { benchFuzz } from "../bench/fuzz";
import { benchSustained, summary as sustainedSummary } from "../bench/sustained";
import { benchProver, fullBatch, parseProverParts, printProverSummary, PROVER_PARTS, submissionOverhead, type ProverBench, type SubmitTimings } from "../bench/prover";

const log = (o: object) => process.stderr.write(JSON.stringify({ t: new Date().toISOString(), ...o }) + "\n");
const seconds = (t0: number) => Math.round((performance.now() - t0) / 10) / 100;

async function constraintsOf(name: string, mainSource: string): Promise<number> {
  const c = await compileCircuit({ name, mainSource, log: () => {} });
  return c.constraints;
}

/** Constraints per operation at production parameters (2^24 accounts, 2^8 tokens). */
async function constraintsSection() {
  const p = CONFIGS.production;
  const src = (inc: string, main: string) => `pragma circom 2.1.0;\ninclude "${inc}";\ncomponent main = ${main};\n`;
  log({ msg: "bench.constraints" });
  const l2Slot = await constraintsOf("cost-l2slot", src("ops/l2slot.circom", `L2Slot(${p.accountLevels}, ${p.balanceLevels}, 1)`));
  const fillSlot = await constraintsOf("cost-fill", src("ops/fill.circom", `FillSlot(${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}, 1)`));
  const depositSlot = await constraintsOf("cost-deposit", src("ops/deposit.circom", `DepositSlot(${p.accountLevels}, ${p.balanceLevels})`));
  const feeCredit1 = await constraintsOf("cost-fee1", src("ops/fee.circom", `FeeCredit(${p.accountLevels}, ${p.balanceLevels}, 1)`));
  const feeCredit2 = await constraintsOf("cost-fee2", src("ops/fee.circom", `FeeCredit(${p.accountLevels}, ${p.balanceLevels}, 2)`));
  const sha1 = await constraintsOf("cost-sha1", src("circomlib/circuits/sha256/sha256.circom", "Sha256(440)"));
  const sha2 = await constraintsOf("cost-sha2", src("circomlib/circuits/sha256/sha256.circom", "Sha256(952)"));
  const shaPerBlock = sha2 - sha1;
  return {
    params: p,
    perOperation: {
      transfer: l2Slot,
      withdraw: l2Slot,
      noop: l2Slot,
      fill: fillSlot,
      depositOrRegister: depositSlot,
    },
    perBatch: { feeCreditFirstBucket: feeCredit1, feeCreditPerExtraBucket: feeCredit2 - feeCredit1 },
    sha256: {
      perBlock: shaPerBlock,
      perL2Chunk: Math.round((shaPerBlock * 15) / 64),
      perFillChunk: Math.round((shaPerBlock * 51) / 64),
      // The fixed header (roots, queue hashes, chain id, timestamp, rollup) before the fee tokens.
      perHeader: Math.round((shaPerBlock * FEE_TOKENS_AT) / 64),
    },
    note: "An L2 slot (transfer, withdraw or noop) has one template, so each costs the same; a fill slot (fill or noop fill) likewise. The SHA-256 share is per 15-byte L2 chunk and per 51-byte fill chunk.",
  };
}

async function provingSection(name: keyof typeof CONFIGS, freshSetup: boolean) {
  const p = CONFIGS[name];
  const t0 = performance.now();
  const circuit = await compileCircuit({ name: batchCircuitName(p), mainSource: batchCircuitSource(p), log: () => {} });
  const compileSeconds = seconds(t0);
  const keysRoot = freshSetup ? mkdtempSync(path.join(os.tmpdir(), "modex-bench-keys-")) : undefined;
  const t1 = performance.now();
  const keys = await ensureKeys(circuit, { keysRoot, log: () => {} });
  const setupSeconds = seconds(t1);
  const b = fullBatch(p);
  const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  const t2 = performance.now();
  await snarkjs.wtns.calculate(b.circuitInput, circuit.wasmPath, wtns);
  const witnessSeconds = seconds(t2);
  const t3 = performance.now();
  const { proof, publicSignals } = await snarkjs.groth16.prove(keys.zkeyPath, wtns);
  const proveSeconds = seconds(t3);
  const t4 = performance.now();
  const ok = await snarkjs.groth16.verify(keys.vkey, publicSignals, proof);
  const verifySeconds = seconds(t4);
  if (!ok || publicSignals[0] !== b.publicInput.toString()) throw new Error("bench proof did not verify");
  if (keysRoot) rmSync(keysRoot, { recursive: true, force: true });
  const r = {
    config: name, params: paramsKey(p), constraints: circuit.constraints, l2Slots: p.l2Slots, depositSlots: p.depositSlots,
    compileSeconds, setupSeconds: freshSetup ? setupSeconds : null, setupTimings: keys.manifest.timings,
    witnessSeconds, proveSeconds, verifySeconds,
    provenL2OpsPerSecond: Math.round((p.l2Slots / (witnessSeconds + proveSeconds)) * 100) / 100,
  };
  log({ msg: "bench.proving", ...r });
  return { result: r, keys, circuit };
}

/** Gas of real batches on anvil (test config, real verifier, real proofs). */
async function gasSection(keys: Awaited<ReturnType<typeof ensureKeys>>, wasmPath: string) {
  const p = CONFIGS.test;
  const anvil = await startAnvil({ port: 0 });
  try {
    const opKey = generatePrivateKey();
    const dep = await deployModex({ rpcUrl: anvil.rpcUrl, verifierSource: keys.verifierPath, params: p, genesisRoot: new State(p).root, operatorKey: publicKeyOf(opKey) });
    const l1 = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], chainId: anvil.chainId });
    const state = new State(p);
    const keysById: string[] = [opKey];
    const records: QueueRecord[] = [{ kind: QUEUE_REGISTER, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(opKey) }];
    const gas: Record<string, number> = {};
    for (let i = 1; i <= 2; i++) {
      const key = generatePrivateKey();
      keysById.push(key);
      const pub = publicKeyOf(key);
      const hash = await l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "register", args: [pub.ax, pub.ay, 0, 10n ** 18n], value: 10n ** 18n, chain: l1.chain, account: l1.account });
      const rc = await l1.publicClient.waitForTransactionReceipt({ hash });
      gas.registerWithEth = Number(rc.gasUsed);
      records.push({ kind: QUEUE_REGISTER, accountId: i, token: 0, amount: 10n ** 18n, ...pub });
    }
    // Account 2 also deposits test USDC (token 1), the quote of the fill below.
    const usdc = dep.tokens[0].address;
    const usdcAmount = 1_000_000_000n;
    for (const [functionName, args] of [["mint", [l1.account.address, usdcAmount]], ["approve", [dep.rollup, usdcAmount]]] as const) {
      const h = await l1.walletClient.writeContract({ address: usdc, abi: testTokenAbi, functionName, args: args as never, chain: l1.chain, account: l1.account });
      await l1.publicClient.waitForTransactionReceipt({ hash: h });
    }
    const dh = await l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "deposit", args: [2, 1, usdcAmount], chain: l1.chain, account: l1.account });
    await l1.publicClient.waitForTransactionReceipt({ hash: dh });
    records.push({ kind: QUEUE_DEPOSIT, accountId: 2, token: 1, amount: usdcAmount, ax: 0n, ay: 0n });
    let q = 0n;
    let consumed = 0;
    // submitBatch sent → receipt, per batch: what submission adds to a batch after its proof.
    const submitMs: number[] = [];
    const submit = async (deposits: QueueRecord[], txs: L2Tx[], fills: FillOp[] = []) => {
      const block = await l1.publicClient.getBlock();
      const b = buildBatch(state, { chainId: anvil.chainId, rollup: dep.rollup, timestamp: Number(block.timestamp), queueHashBefore: q, deposits, txs, fills });
      const w: { type: "mem"; data?: Uint8Array } = { type: "mem" };
      await snarkjs.wtns.calculate(b.circuitInput, wasmPath, w);
      const { proof } = await snarkjs.groth16.prove(keys.zkeyPath, w);
      const args = [b.newRoot, b.timestamp, b.depositCount, viemHex(Uint8Array.from(b.feeTokens)), viemHex(withdrawBitmap(b.chunks)), viemHex(b.slotData), viemHex(b.forcedExitData), proofToSolidity(proof)] as const;
      const tSubmit = performance.now();
      const hash = await l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "submitBatch", args, chain: l1.chain, account: l1.account });
      const rc = await l1.publicClient.waitForTransactionReceipt({ hash });
      submitMs.push(performance.now() - tSubmit);
      if (rc.status !== "success") throw new Error("submitBatch reverted");
      q = b.queueHashAfter;
      consumed += deposits.length;
      const chunkBytes = b.slotData;
      const calldataNonZeroCost = [...chunkBytes].reduce((g, x) => g + (x === 0 ? 4 : 16), 0);
      return { gas: Number(rc.gasUsed), calldataBytes: (encodeFunctionData({ abi: rollupAbi, functionName: "submitBatch", args }).length - 2) / 2, calldataNonZeroCost };
    };
    await submit([records[0]], []);
    gas.batchWithOneRegistration = (await submit([records[1]], [])).gas;
    await submit([records[2]], []);
    await submit([records[3]], []);
    const empty = await submit([], []);
    gas.emptyBatch = empty.gas;
    const sign = (tx: L2Tx, key: string): L2Tx => ({ ...tx, signature: signMessage(key, txMessage(tx, { chainId: anvil.chainId, rollup: dep.rollup })) });
    const zero = { r8x: 0n, r8y: 0n, s: 0n };
    const vu = 2 ** 32 - 1;
    const transfers = await submit([], [
      sign({ type: "transfer", from: 1, to: 2, token: 0, amount: 1000n, fee: 10n, nonce: 0n, validUntil: vu, signature: zero }, keysById[1]),
      sign({ type: "transfer", from: 2, to: 1, token: 0, amount: 500n, fee: 10n, nonce: 0n, validUntil: vu, signature: zero }, keysById[2]),
    ]);
    gas.batchOfTwoTransfers = transfers.gas;
    const withdrawal = await submit([], [
      sign({ type: "withdraw", account: 1, token: 0, amount: 10n ** 17n, fee: 0n, nonce: 1n, validUntil: vu, signature: zero }, keysById[1]),
    ]);
    gas.batchWithOneWithdrawal = withdrawal.gas;
    // One fill: account 1 sells 0.01 ETH for 20 USDC to account 2, fees on both sides.
    const signOrder = (o: Omit<Order, "signature">, key: string): Order => ({ ...o, signature: signMessage(key, orderMessage({ ...o, signature: zero }, { chainId: anvil.chainId, rollup: dep.rollup })) });
    const sell = signOrder({ account: 1, orderId: 1n, base: 0, quote: 1, side: "sell", amount: 10n ** 16n, quoteAmount: 20_000_000n, maxFeeBips: 30, validUntil: vu }, keysById[1]);
    const buy = signOrder({ account: 2, orderId: 1n, base: 0, quote: 1, side: "buy", amount: 10n ** 16n, quoteAmount: 20_000_000n, maxFeeBips: 30, validUntil: vu }, keysById[2]);
    const fill = await submit([], [], [{ type: "fill", sell, buy, baseAmount: 10n ** 16n, quoteAmount: 20_000_000n, sellFee: 20_000n, buyFee: 2n * 10n ** 13n }]);
    gas.batchWithOneFill = fill.gas;
    void consumed;
    const sorted = [...submitMs].sort((a, b) => a - b);
    const submitTimings: SubmitTimings = {
      batches: sorted.length,
      meanMs: Math.round((sorted.reduce((a, b) => a + b, 0) / sorted.length) * 10) / 10,
      p50Ms: Math.round(sorted[Math.floor(sorted.length / 2)] * 10) / 10,
      maxMs: Math.round(sorted[sorted.length - 1] * 10) / 10,
    };
    return {
      config: "test",
      ...gas,
      fixedPerBatch: gas.emptyBatch,
      // A noop chunk is 15 zero bytes of calldata (4 gas each); a transfer replaces it.
      perTransfer: (gas.batchOfTwoTransfers - gas.emptyBatch) / 2 + 15 * 4,
      perTransferWorstCase: 15 * 16 + Math.max(0, (gas.batchOfTwoTransfers - gas.emptyBatch) / 2 + 15 * 4 - transfers.calldataNonZeroCost / 2),
      perWithdrawal: gas.batchWithOneWithdrawal - gas.emptyBatch,
      // A noop fill chunk is 51 zero bytes of calldata (4 gas each); a fill replaces it.
      perFill: gas.batchWithOneFill - gas.emptyBatch + 51 * 4,
      perFillWorstCase: 51 * 16 + Math.max(0, gas.batchWithOneFill - gas.emptyBatch + 51 * 4 - (fill.calldataNonZeroCost - empty.calldataNonZeroCost + 51 * 4)),
      submitMs: submitTimings,
      submitNote: "submitMs: submitBatch sent (viem writeContract, which estimates gas first) until its receipt (100 ms polling), anvil automining; one per batch above.",
      note: "Empty batch = all slots noop. perTransfer = (two-transfer batch − empty batch) / 2 + a noop chunk's calldata (60): the calldata, copying and hashing of one 15-byte chunk with these small account ids; perTransferWorstCase assumes 15 non-zero bytes.",
    };
  } finally {
    await anvil.stop();
  }
}

/** Matching throughput (engine alone, one core), order acknowledgement latency over HTTP, signature verification speed. */
async function tradingSection(quick: boolean) {
  log({ msg: "bench.trading" });
  const matching = await benchMatching({ orders: quick ? 20_000 : 100_000, crossingShare: 0.3, seed: 1 });
  const eddsa = await benchEddsa();
  // The target rate, and half of it (this machine saturates in between; both are worth knowing).
  const latency = await benchOrderLatency({ rate: 1000, seconds: quick ? 1 : 10, crossingShare: 0.3, log });
  const latencyHalf = await benchOrderLatency({ rate: 500, seconds: quick ? 1 : 10, crossingShare: 0.3, log });
  return { matching, latency, latencyHalf, eddsa };
}

/** Poseidon and EdDSA verification rates, native addon against JavaScript (bench/poseidon.ts, bench/eddsa.ts). */
async function hashingSectionAsync(quick: boolean) {
  log({ msg: "bench.hashing" });
  const poseidon = benchPoseidon({ n: quick ? 5_000 : 20_000 });
  const eddsa = await benchEddsa({ nFast: quick ? 500 : 2000, nCircomlibjs: quick ? 5 : 20 });
  return { poseidon, eddsa };
}

const SECTIONS = ["constraints", "proving", "gas", "trading", "hashing", "prover", "audit", "escape", "fuzz", "sustained"] as const;
type Section = (typeof SECTIONS)[number];

function parseOnly(v: string | undefined): Set<Section> {
  if (v === undefined) return new Set(SECTIONS);
  const names = v.split(",").map((x) => x.trim()).filter(Boolean);
  const bad = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (bad.length || names.length === 0) throw new Error(`--only takes a comma-separated list of ${SECTIONS.join(", ")}; got ${JSON.stringify(v)}`);
  return new Set(names as Section[]);
}

/** The test config's circuit and keys, for the gas section when the proving section does not run. */
async function testCircuitKeys(): Promise<{ keys: Awaited<ReturnType<typeof ensureKeys>>; circuit: Awaited<ReturnType<typeof compileCircuit>> }> {
  const p = CONFIGS.test;
  const circuit = await compileCircuit({ name: batchCircuitName(p), mainSource: batchCircuitSource(p), log: () => {} });
  return { circuit, keys: await ensureKeys(circuit, { log: () => {} }) };
}

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" }, "fresh-setup": { type: "boolean" }, only: { type: "string" }, out: { type: "string" }, big: { type: "boolean" }, "prover-parts": { type: "string" }, help: { type: "boolean" },
      "sustained-backend": { type: "string" }, "sustained-rates": { type: "string" }, "sustained-step-s": { type: "string" }, "sustained-workers": { type: "string" },
    },
  });
  if (values.help) {
    console.log(`usage: npm run bench [-- --quick] [-- --fresh-setup] [-- --only ${SECTIONS.join(",")}] [-- --out FILE] [-- --prover-parts ${PROVER_PARTS.join(",")}] [-- --big]
                 [-- --sustained-backend native|snarkjs] [-- --sustained-rates 0.1,0.2,…] [-- --sustained-step-s 120] [-- --sustained-workers N]`);
    return;
  }
  const proverParts = parseProverParts(values["prover-parts"]);
  const only = parseOnly(values.only);
  const partial = values.only !== undefined;
  const quick = Boolean(values.quick);
  const outFile = path.resolve(values.out ?? path.join(__dirname, "..", "bench", "results", "latest.json"));
  await initCrypto();
  const started = new Date().toISOString();
  const constraints = only.has("constraints") ? await constraintsSection() : undefined;
  const configs: (keyof typeof CONFIGS)[] = quick ? ["test"] : ["test", "default"];
  let proving: Awaited<ReturnType<typeof provingSection>>["result"][] | undefined;
  let testKeys: { keys: Awaited<ReturnType<typeof ensureKeys>>; circuit: Awaited<ReturnType<typeof compileCircuit>> } | null = null;
  if (only.has("proving")) {
    proving = [];
    for (const c of configs) {
      const r = await provingSection(c, Boolean(values["fresh-setup"]));
      proving.push(r.result);
      if (c === "test") testKeys = r;
    }
  }
  let gas: Awaited<ReturnType<typeof gasSection>> | undefined;
  if (only.has("gas")) {
    testKeys ??= await testCircuitKeys();
    gas = await gasSection(testKeys.keys, testKeys.circuit.wasmPath);
  }
  const trading = only.has("trading") ? await tradingSection(quick) : undefined;
  const hashing = only.has("hashing") ? await hashingSectionAsync(quick) : undefined;
  let prover: ProverBench | undefined;
  // An earlier run's results, kept where this run does not replace them (--only).
  const previous: Record<string, unknown> | null = partial && existsSync(outFile) ? (JSON.parse(readFileSync(outFile, "utf8")) as Record<string, unknown>) : null;
  if (only.has("prover")) {
    log({ msg: "bench.prover" });
    prover = await benchProver({ quick, log, big: Boolean(values.big), parts: proverParts });
    const earlierGas = previous?.gas as { submitMs?: SubmitTimings } | undefined;
    if (gas) prover.submission = submissionOverhead(prover, gas.submitMs, "this run's gas section");
    else if (earlierGas?.submitMs) prover.submission = submissionOverhead(prover, earlierGas.submitMs, `the gas section of the run started ${String(previous?.started)}`);
  }
  const audit = only.has("audit") ? await benchAudit({ batches: quick ? 10 : 40, log }) : undefined;
  const escape = only.has("escape") ? await benchEscape({ configs: quick ? ["test"] : ["test", "default", "production"], log }) : undefined;
  const fuzz = only.has("fuzz") ? await benchFuzz({ mutants: quick ? 1_000 : 10_000, log }) : undefined;
  let sustained: Awaited<ReturnType<typeof benchSustained>> | undefined;
  if (only.has("sustained")) {
    const backend = values["sustained-backend"] ?? "native";
    if (backend !== "native" && backend !== "snarkjs") throw new Error("--sustained-backend must be native or snarkjs");
    const rates = values["sustained-rates"]?.split(",").map(Number) ?? (quick ? [0.1, 0.2] : undefined);
    if (rates && (rates.length === 0 || rates.some((r) => !(r > 0)))) throw new Error("--sustained-rates takes positive operations/s, comma-separated");
    const stepS = values["sustained-step-s"] !== undefined ? Number(values["sustained-step-s"]) : quick ? 60 : 120;
    if (!(stepS > 0)) throw new Error("--sustained-step-s must be a positive number of seconds");
    const workers = values["sustained-workers"] !== undefined ? Number(values["sustained-workers"]) : undefined;
    if (workers !== undefined && !(Number.isInteger(workers) && workers > 0)) throw new Error("--sustained-workers must be a positive integer");
    log({ msg: "bench.sustained", backend, rates, stepS, workers: workers ?? "default" });
    sustained = await benchSustained({ backend, rates, stepS, log, ...(workers !== undefined ? { workers } : {}) });
  }
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  const command = ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" ");
  const finished = new Date().toISOString();
  // The native run is the section's figure; a snarkjs run goes beside it.
  const sustainedSnarkjs = sustained?.backend === "snarkjs" ? sustained : undefined;
  const sections = { constraints, proving, gas, trading, hashing, prover, audit, escape, fuzz, sustained: sustained?.backend === "snarkjs" ? undefined : sustained, sustainedSnarkjs };
  let results: Record<string, unknown>;
  if (previous) {
    results = { ...previous, machine, updated: { started, finished, command, sections: [...only] } };
    for (const [k, v] of Object.entries(sections)) if (v !== undefined) results[k] = v;
  } else {
    results = { started, finished, command, machine, ...sections };
  }
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(results, null, 2) + "\n");

  if (constraints) {
    console.log("\nConstraints per operation (production: 2^24 accounts, 2^8 tokens)");
    console.table({ ...constraints.perOperation, ...constraints.perBatch, sha256PerBlock: constraints.sha256.perBlock, sha256PerL2Chunk: constraints.sha256.perL2Chunk, sha256PerFillChunk: constraints.sha256.perFillChunk });
  }
  if (proving) {
    console.log("Batch proving (snarkjs, this machine)");
    console.table(proving.map((r) => ({ config: r.config, constraints: r.constraints, l2Slots: r.l2Slots, setupS: r.setupSeconds, witnessS: r.witnessSeconds, proveS: r.proveSeconds, verifyS: r.verifySeconds })));
  }
  if (gas) {
    const { submitMs, ...gasTable } = gas;
    console.log("Gas (anvil, real verifier and proofs)");
    console.table(gasTable);
    console.log(`submitBatch sent → receipt (anvil): mean ${submitMs.meanMs} ms, p50 ${submitMs.p50Ms} ms, max ${submitMs.maxMs} ms over ${submitMs.batches} batches`);
  }
  if (trading) {
    console.log("Trading: matching engine on one core, order acknowledgement over HTTP, signature checks");
    console.table({
      matchingOrdersPerSec: trading.matching.ordersPerSec,
      ack1000Achieved: trading.latency.achievedRate,
      ack1000P50Ms: trading.latency.p50Ms,
      ack1000P99Ms: trading.latency.p99Ms,
      ack500P50Ms: trading.latencyHalf.p50Ms,
      ack500P99Ms: trading.latencyHalf.p99Ms,
      verifyPerSec: trading.eddsa.fast.verificationsPerSec,
      nativeVerifyPerSec: trading.eddsa.native?.verificationsPerSec ?? null,
      nativeVerifyHotKeyPerSec: trading.eddsa.nativeHotKey?.verificationsPerSec ?? null,
    });
  }
  if (hashing) {
    console.log("Hashing on one core: Poseidon (native addon vs poseidon-lite), EdDSA-Poseidon verification (native vs the JavaScript fast path)");
    console.table(Object.fromEntries(hashing.poseidon.arities.map((a) => [`poseidon${a.inputs}`, { native: a.nativeHashesPerSec, js: a.poseidonLiteHashesPerSec, speedup: a.speedup }])));
    console.table({
      eddsaVerify: { native: hashing.eddsa.native?.verificationsPerSec ?? null, js: hashing.eddsa.fast.verificationsPerSec, speedup: hashing.eddsa.nativeSpeedup },
      eddsaVerifyHotKey: { native: hashing.eddsa.nativeHotKey?.verificationsPerSec ?? null, js: hashing.eddsa.fastHotKey.verificationsPerSec, speedup: null },
    });
  }
  if (prover) {
    printProverSummary(prover);
    if (prover.submission) console.log(`(submitMs from ${prover.submission.source})`);
  }
  if (audit) {
    console.log(`Audit (${audit.batches} batches, ${audit.operations} operations, config ${audit.config}; proofs: ${audit.proofs.config} circuit)`);
    console.table({
      auditBatchesPerSec: audit.chain.batchesPerSec,
      auditOpsPerSec: audit.chain.opsPerSec,
      replayBatchesPerSec: audit.replay.batchesPerSec,
      replayOpsPerSec: audit.replay.opsPerSec,
      proofsVerifiedPerSec: audit.proofs.proofsPerSec,
    });
  }
  if (escape) {
    console.log("Escape hatch gas (anvil, core batches, accept-anything verifier)");
    console.table(Object.fromEntries(escape.configs.map((c) => [c.config, c.gas])));
    console.log("Queue spam against one forced exit: gas per D records (one batch of delay)");
    console.table(Object.fromEntries(escape.configs.map((c) => [c.config, { depositSlots: c.depositSlots, ...c.spam }])));
  }
  if (fuzz) {
    console.log(`Witness-mutation fuzzer (seed ${fuzz.seed}, ${fuzz.baseBatches} base batches, ${fuzz.mutantsPerSec} mutants/s)`);
    console.table({ tried: fuzz.tried, rejectedByCircuit: fuzz.rejectedByCircuit, rejectedByContract: fuzz.rejectedByContract, acceptedEquivalent: fuzz.acceptedEquivalent, acceptedDivergent: fuzz.acceptedDivergent });
    for (const d of fuzz.divergences) console.log(`DIVERGENT: ${d.labels.join(" + ")}: ${d.reason}`);
  }
  if (sustained) {
    console.log(`Sustained load (${sustained.backend} prover, default config, steps of ${sustained.stepS} s, backlog bound ${sustained.maxBacklogS} s)`);
    console.table(sustained.steps.map(sustainedSummary));
    console.log(`max sustainable finalized rate: ${sustained.maxSustainableFinalizedPerS ?? "none"} ops/s (offered ${sustained.maxSustainableOfferedPerS ?? "—"}/s); stopped: ${sustained.stoppedBecause}`);
  }
  const shown = path.relative(process.cwd(), outFile);
  console.log(`wrote ${shown.startsWith("..") ? outFile : shown}`);
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
