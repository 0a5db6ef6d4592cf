/**
 * Sustained load (issue 13): the devnet with real proofs under an open-loop load at a trading mix,
 * the offered rate stepped up until the backlog stops being bounded or the sequencer refuses work
 * (503 overloaded). What runs is what `npm start` runs: anvil, the contracts with the verifier of
 * the development keys (prover/keys ensureKeys, cached under .modex/keys), a sequencer with its
 * embedded prover pool (default pool size and threads, the backend chosen by --backend), real
 * Groth16 proofs, every batch submitted to and finalized by the Rollup on anvil. The default
 * backlog bound (60 s, sequencer/backpressure.ts) stays on.
 *
 * Load: open loop, operations evenly spaced at the offered rate, in a mix repeated every 20
 * operations (shuffled within each 20 by a seeded generator): 14 fills (70 %), 4 transfers (20 %),
 * 1 withdrawal and 1 L1 deposit (10 %).
 *  - fill: a maker's GTC sell of 0.01 ETH at 2,000 USDC rests, then a taker's IOC buy at the same
 *    price and size crosses it; the operation is the fill the taker's answer names (GET /v1/txs
 *    follows it). Two makers and two takers take turns; a maker refused with 503 is not followed by
 *    its taker. Every order of the run has the same price and size, so a taker always takes exactly
 *    one resting maker (the oldest).
 *  - transfer (0.001 ETH to another payer, fee 0) and withdrawal (0.001 ETH, fee 0): four payer
 *    accounts in turn; a payer's transactions are signed ahead with consecutive nonces, and one
 *    that is refused is sent again at that payer's next turn (a refusal changes nothing).
 *  - deposit: 0.001 ETH from an L1 account to a payer (Rollup.deposit on anvil); acknowledged by
 *    its receipt, finalized with the batch that consumes its queue record. Never refused.
 * Orders are signed ahead in child processes (bench/sign-orders.ts; ~30 ms a signature in
 * JavaScript), transactions ahead in this process, all before the first step.
 *
 * Per step: offered, acknowledged and finalized operations/s (finalized: over the step's second
 * half, the steady state, and over the whole step), 503s, ack → finalized latency
 * (p50/p99 of the step's acknowledged operations, ack = the answer to the request, finalized =
 * the `finalizedAt` the sequencer records when its batch's submitBatch receipt arrives), the backlog
 * over time (GET /v1/status every 2 s: pending operations, batches still to prove, backlog seconds,
 * refusing; and the operations acknowledged but not yet finalized), and the share of proved
 * constraints spent on noop slots (slotCosts, noopShare). Bounded: see isBounded.
 *
 *   npx tsx bench/sustained.ts [--backend native|snarkjs] [--rates 0.1,0.2,0.4] [--step-s 120]
 *     [--drain-s 300] [--out FILE]
 *   npm run bench -- --only sustained     (native, the default rates and steps; bench/results/latest.json)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { decodeEventLog, type Hex } from "viem";
import { ANVIL_DEV_PRIVATE_KEYS, startAnvil } from "../chain/anvil";
import { compileCircuit } from "../circuits/compile";
import { rollupAbi } from "../contracts/abi";
import { connectL1 } from "../contracts/clients";
import { deployModex } from "../contracts/deploy";
import { CONFIGS, generatePrivateKey, initCrypto, paramsKey, publicKeyOf, signMessage, State, txMessage, type L2Tx, type Params } from "../core";
import { CHUNK_BYTES, FILL_CHUNK_BYTES, FORCED_EXIT_BYTES, parseShapeKey, shapeKey, shapesOf, type Shape } from "../core/params";
import { releaseSnarkjsCurve } from "../prover/keys";
import { shapeKeys } from "../prover/shape-keys";
import { createProver, parseBackend } from "../prover/select";
import { serve } from "../sequencer/api";
import type { LogFn } from "../sequencer/log";
import { createSequencer } from "../sequencer/sequencer";
import type { BatchInfo, StatusView } from "../sequencer/views";
import { txToWire } from "../sequencer/wire";
import type { SignJob, UnsignedOrder } from "./sign-orders";
import { registerTraders } from "./traders";

const ETH = 10n ** 18n;
const USDC = 10n ** 6n;
const MAX_U32 = 2 ** 32 - 1;
/** Every order: 0.01 ETH at 2,000 USDC. */
const ORDER_BASE = 10n ** 16n;
const ORDER_QUOTE = 20n * USDC;
/** Transfers, withdrawals and deposits: 0.001 ETH. */
const PAYMENT = 10n ** 15n;
const SAMPLE_MS = 2_000;

export type OpKind = "fill" | "transfer" | "withdraw" | "deposit";

// ------------------------------------------------------------------ pure helpers (test/sustained-bench.test.ts)

/** The mix, per 20 operations: 14 fills, 4 transfers, 1 withdrawal, 1 deposit. */
export const MIX_BLOCK: readonly OpKind[] = [...Array<OpKind>(14).fill("fill"), ...Array<OpKind>(4).fill("transfer"), "withdraw", "deposit"];

/** `n` operation kinds: MIX_BLOCK repeated, each block shuffled with `rnd` (exact mix per 20). */
export function planMix(n: number, rnd: () => number): OpKind[] {
  const out: OpKind[] = [];
  while (out.length < n) {
    const block = [...MIX_BLOCK];
    for (let i = block.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [block[i], block[j]] = [block[j], block[i]];
    }
    out.push(...block);
  }
  return out.slice(0, n);
}

/** A deterministic generator in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

/** The q-quantile (0..1) of `xs` by nearest rank; null when empty. */
export function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

export interface BacklogPoint {
  /** ms since the step started. */
  readonly t: number;
  readonly backlog: number;
}

export interface Boundedness {
  readonly bounded: boolean;
  /** Mean backlog over the samples in 40–60 % of the step. */
  readonly middle: number | null;
  /** Mean backlog over the samples in 80–100 % of the step. */
  readonly end: number | null;
  readonly tolerance: number;
  readonly rule: string;
}

/**
 * The rule: a step is bounded when the backlog (operations acknowledged and not yet finalized) at its
 * end is not larger than in its middle: mean over the samples in the last fifth of the step ≤ mean
 * over the samples in 40–60 % of it + max(`minTolerance`, 10 % of that). Means over windows, not
 * single samples, because the backlog is a saw-tooth (it drops by a batch at each finalization);
 * the tolerance absorbs one operation of noise (a batch holds about one at these rates), not a trend.
 */
export function isBounded(points: readonly BacklogPoint[], stepMs: number, minTolerance = 1): Boundedness {
  const mean = (lo: number, hi: number): number | null => {
    const xs = points.filter((p) => p.t >= lo * stepMs && p.t <= hi * stepMs).map((p) => p.backlog);
    return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const middle = mean(0.4, 0.6);
  const end = mean(0.8, 1);
  const tolerance = Math.max(minTolerance, 0.1 * (middle ?? 0));
  const rule = `mean backlog (operations acknowledged, not yet finalized) over the last fifth of the step ≤ mean over 40–60 % of it + max(${minTolerance}, 10 %)`;
  if (middle === null || end === null) return { bounded: false, middle, end, tolerance, rule };
  return { bounded: end <= middle + tolerance, middle: round(middle, 2), end: round(end, 2), tolerance: round(tolerance, 2), rule };
}

/** Constraints of one slot of each type, its share of the public-data hash included. */
export interface SlotCosts {
  readonly l2: number;
  readonly fill: number;
  readonly deposit: number;
  /** Each shape's whole batch circuit, by shape key (PROTOCOL.md §5.5). */
  readonly batch: Readonly<Record<string, number>>;
}

export interface BatchUse {
  /** The batch's shape: its slot counts. */
  readonly shape: Shape;
  readonly l2: number;
  readonly fills: number;
  readonly deposits: number;
}

/**
 * Share of the proved constraints spent on noop slots: Σ over batches of the unused slots of each
 * type of its shape × that type's cost, over Σ of each batch's circuit constraints (its shape's). The
 * rest is used slots and what every batch pays whatever it holds (header hashing, fee credit, root checks).
 */
export function noopShare(costs: SlotCosts, batches: readonly BatchUse[]): { share: number | null; noopConstraints: number; provedConstraints: number } {
  let noop = 0;
  let proved = 0;
  for (const b of batches) {
    const p = b.shape;
    noop += Math.max(0, p.l2Slots - b.l2) * costs.l2 + Math.max(0, p.fillSlots - b.fills) * costs.fill + Math.max(0, p.depositSlots - b.deposits) * costs.deposit;
    const batch = costs.batch[shapeKey(p)];
    if (batch === undefined) throw new Error(`no constraint count for shape ${shapeKey(p)}`);
    proved += batch;
  }
  return { share: proved === 0 ? null : round(noop / proved, 4), noopConstraints: noop, provedConstraints: proved };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ------------------------------------------------------------------ constraint costs

/**
 * Each slot type's template compiled alone at `p`'s tree depths (circuits/ops: L2Slot, FillSlot,
 * DepositSlot), plus its chunk's share of the SHA-256 over the public data (a 64-byte block costs
 * Sha256(952) − Sha256(440) constraints; an L2 chunk is 15 bytes, a fill chunk 51, an L1 slot's
 * forced-exit field 16): the same method as scripts/bench.ts' constraint section
 * (docs/PERFORMANCE.md "Constraints per operation"), at the bench's parameters.
 */
export async function slotCosts(p: Params, batchConstraints: Readonly<Record<string, number>>): Promise<SlotCosts & { sha256PerBlock: number; templates: { l2: number; fill: number; deposit: number } }> {
  const src = (inc: string, main: string) => `pragma circom 2.1.0;\ninclude "${inc}";\ncomponent main = ${main};\n`;
  const of = async (name: string, inc: string, main: string) => (await compileCircuit({ name, mainSource: src(inc, main), log: () => undefined })).constraints;
  const tag = `${p.accountLevels}-${p.balanceLevels}-${p.orderLevels}-${p.feeBuckets}`;
  const l2 = await of(`cost-l2slot-${tag}`, "ops/l2slot.circom", `L2Slot(${p.accountLevels}, ${p.balanceLevels}, ${p.feeBuckets})`);
  const fill = await of(`cost-fill-${tag}`, "ops/fill.circom", `FillSlot(${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}, ${p.feeBuckets})`);
  const deposit = await of(`cost-deposit-${tag}`, "ops/deposit.circom", `DepositSlot(${p.accountLevels}, ${p.balanceLevels})`);
  const sha1 = await of("cost-sha1", "circomlib/circuits/sha256/sha256.circom", "Sha256(440)");
  const sha2 = await of("cost-sha2", "circomlib/circuits/sha256/sha256.circom", "Sha256(952)");
  const block = sha2 - sha1;
  const share = (bytes: number) => Math.round((block * bytes) / 64);
  return {
    l2: l2 + share(CHUNK_BYTES),
    fill: fill + share(FILL_CHUNK_BYTES),
    deposit: deposit + share(FORCED_EXIT_BYTES),
    batch: batchConstraints,
    sha256PerBlock: block,
    templates: { l2, fill, deposit },
  };
}

// ------------------------------------------------------------------ the bench

export interface SustainedOptions {
  readonly backend?: "native" | "snarkjs";
  /** Embedded prover workers (default: the pool's default, one worker on every core; with N native workers each gets cores/N threads). */
  readonly workers?: number;
  /** Offered operations/s, one step each, in order. */
  readonly rates?: readonly number[];
  readonly stepS?: number;
  /** After the last step, how long to wait for what was acknowledged to finalize. */
  readonly drainS?: number;
  /** Run one more step at twice the highest sustainable rate when the step that failed was below it. */
  readonly overloadStep?: boolean;
  readonly seed?: number;
  readonly log?: (o: object) => void;
}

export const DEFAULT_RATES: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.2, 1.6];

interface Sample {
  /** ms since the epoch. */
  readonly at: number;
  readonly pendingTxs: number;
  readonly backlogBatches: number;
  readonly backlogS: number | null;
  readonly refusing: boolean;
  readonly latestBatch: number;
  readonly finalizedBatch: number;
  readonly queueWaiting: number;
  /** os.loadavg()[0] when sampled: how busy the machine was. */
  readonly load1: number;
}

interface OpRecord {
  readonly step: number;
  kind: OpKind;
  readonly offeredAt: number;
  ackAt?: number;
  /** The L2 operation's hash (a fill's for a fill), or the deposit's queue index. */
  hash?: Hex;
  queueIndex?: number;
  refused?: boolean;
  error?: string;
  finalizedAt?: number;
}

export interface StepResult {
  readonly step: number;
  readonly offeredPerS: number;
  readonly seconds: number;
  readonly offered: number;
  readonly offeredByKind: Record<OpKind, number>;
  readonly acknowledged: number;
  readonly acknowledgedPerS: number;
  /**
   * Operations (of any step) whose batch finalized during the second half of this step, per second:
   * the steady state (over the whole step the first ack → finalized latency would count as idle).
   */
  readonly finalizedPerS: number;
  /** The same over the whole step. */
  readonly finalizedPerSWholeStep: number;
  /** Of this step's acknowledged operations, finalized by the end of the run. */
  readonly finalizedOfAcknowledged: number;
  readonly refused503: number;
  /** Requests answered 503 (a fill's maker and taker are two requests). */
  readonly requests503: number;
  readonly errors: Record<string, number>;
  readonly ackToFinalizedMs: { readonly p50: number | null; readonly p90: number | null; readonly p99: number | null; readonly max: number | null; readonly count: number; readonly unfinalized: number };
  readonly noop: { readonly batches: number; readonly share: number | null; readonly slotsUsed: { l2: number; fills: number; deposits: number }; readonly slotsAvailable: { l2: number; fills: number; deposits: number } };
  readonly boundedness: Boundedness;
  readonly backlog: { readonly t: number[]; readonly outstanding: number[]; readonly pendingTxs: number[]; readonly backlogBatches: number[]; readonly backlogS: (number | null)[]; readonly refusing: boolean[] };
  /** The 1-minute load average over the step's samples: other work on the machine skews every figure. */
  readonly loadAverage: { readonly min: number | null; readonly max: number | null };
  readonly sustainable: boolean;
}

export interface SustainedResult {
  readonly started: string;
  readonly finished: string;
  readonly backend: string;
  readonly workers: number | "default";
  readonly config: "default";
  readonly params: string;
  readonly maxBacklogS: number;
  readonly stepS: number;
  readonly note: string;
  readonly mix: string;
  readonly slotCosts: Awaited<ReturnType<typeof slotCosts>>;
  readonly setupSeconds: number;
  readonly proofTimes: unknown;
  readonly steps: StepResult[];
  readonly maxSustainableFinalizedPerS: number | null;
  readonly maxSustainableOfferedPerS: number | null;
  readonly stoppedBecause: string;
  readonly noopShareOverall: number | null;
  readonly sequencerWarnings: object[];
}

export async function benchSustained(opts: SustainedOptions = {}): Promise<SustainedResult> {
  const log = opts.log ?? (() => undefined);
  const started = new Date().toISOString();
  const t0 = Date.now();
  const rates = opts.rates ?? DEFAULT_RATES;
  const stepS = opts.stepS ?? 120;
  const drainS = opts.drainS ?? 300;
  const backendName = opts.backend ?? "native";
  const params = CONFIGS.default;
  await initCrypto();

  log({ msg: "bench.sustained.circuit", config: "default", params: paramsKey(params), shapes: shapesOf(params).map(shapeKey) });
  const shapes = await shapeKeys(params, { ensure: true, log: () => undefined });
  await releaseSnarkjsCurve();
  const costs = await slotCosts(params, Object.fromEntries(shapes.map((x) => [shapeKey(x.shape), x.circuit.constraints])));
  log({ msg: "bench.sustained.costs", ...costs });

  const tmp = mkdtempSync(join(os.tmpdir(), "modex-sustained-"));
  const warnings: object[] = [];
  const seqLog: LogFn = (o) => {
    const level = (o as { level?: string }).level;
    if (level === "warn" || level === "error") {
      if (warnings.length < 50) warnings.push(o);
      log({ msg: "bench.sustained.sequencer", ...o });
    }
  };
  const anvil = await startAnvil({ port: 0 });
  const stops: (() => Promise<unknown>)[] = [() => anvil.stop()];
  try {
    const dep = await deployModex({
      rpcUrl: anvil.rpcUrl,
      privateKey: ANVIL_DEV_PRIVATE_KEYS[0],
      shapes: shapes.map((x) => ({ shape: x.shape, verifierSource: x.keys.verifierPath })),
      params,
      genesisRoot: new State(params).root,
      operatorKey: publicKeyOf(generatePrivateKey()),
    });
    const backend = parseBackend(backendName, undefined, undefined, seqLog);
    const prover = await createProver({
      mode: "embedded",
      artifacts: shapes.map((x) => x.artifacts),
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      backend,
      log: seqLog,
    });
    stops.push(() => prover.close());
    const seq = await createSequencer({
      params,
      db: join(tmp, "sustained.sqlite"),
      l1: { rpcUrl: anvil.rpcUrl, rollup: dep.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: dep.deployBlock },
      prover,
      markets: "auto",
      shapeCircuits: shapes.map((x) => ({ shape: x.shape, constraints: x.circuit.constraints, circuitHash: x.circuit.circuitHash, vkeyPath: x.keys.vkeyPath })),
      log: seqLog,
    });
    stops.push(() => seq.stop());
    const api = await serve(seq, 0, { log: seqLog });
    stops.push(() => api.close());
    const maxBacklogS = seq.status().proving.maxBacklogS;

    // Accounts: two makers and two takers (ETH and USDC), four payers (ETH). L1 key 0 is the
    // submitter's; keys 1–3 register; key 3 sends the run's deposits.
    const [, k1, k2, k3] = ANVIL_DEV_PRIVATE_KEYS;
    const traders = await registerTraders(anvil.rpcUrl, anvil.chainId, dep, [k1, k2, k3, k1], 1_000n * ETH, 10_000_000n * USDC);
    const payers: { priv: string; id: number }[] = [];
    for (const l1Key of [k2, k3, k2, k3]) {
      const l1 = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: l1Key, chainId: anvil.chainId });
      const priv = generatePrivateKey();
      const pub = publicKeyOf(priv);
      const hash = await l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "register", args: [pub.ax, pub.ay, 0, 100n * ETH], value: 100n * ETH, chain: l1.chain, account: l1.account });
      const rc = await l1.publicClient.waitForTransactionReceipt({ hash });
      payers.push({ priv, id: enqueued(rc.logs, dep.rollup).accountId });
    }
    const depositor = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: k3, chainId: anvil.chainId });
    const domain = { chainId: dep.chainId, rollup: dep.rollup };

    // The plan: every step's operations, signed before the first step.
    const rnd = lcg(opts.seed ?? 13);
    const plan = (rate: number) => planMix(Math.max(1, Math.round(rate * stepS)), rnd);
    const signer = makeSigner(tmp, domain, traders, payers);
    const plans: OpKind[][] = rates.map(plan);
    log({ msg: "bench.sustained.signing", operations: plans.flat().length });
    const tSign = Date.now();
    await signer.prepare(plans.flat());
    log({ msg: "bench.sustained.signed", seconds: (Date.now() - tSign) / 1000 });

    // Start: the registrations' batches are proven and finalized first (the first proof times
    // are then known, so backpressure is armed from the first step on).
    await seq.start();
    const base = `${api.url}/v1`;
    const records = 1 + traders.length * 2 + payers.length;
    for (;;) {
      const st = await getJson<StatusView>(`${base}/status`);
      if (st.queue.consumed >= records && st.finalizedBatch === st.latestBatch && st.pendingTxs === 0) break;
      if (st.halted) throw new Error(`sequencer halted: ${st.halted.reason}`);
      await sleep(500);
    }
    const setupSeconds = (Date.now() - t0) / 1000;
    log({ msg: "bench.sustained.ready", setupSeconds, batches: seq.status().latestBatch });

    // Status samples and finalized batches, collected in the background for the whole run.
    const samples: Sample[] = [];
    const batches = new Map<number, BatchInfo>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const st = await getJson<StatusView>(`${base}/status`);
          samples.push({
            at: Date.now(), pendingTxs: st.pendingTxs, backlogBatches: st.proving.backlogBatches, backlogS: st.proving.backlogS, refusing: st.proving.refusing,
            latestBatch: st.latestBatch, finalizedBatch: st.finalizedBatch, queueWaiting: st.queue.length - st.queue.consumed, load1: os.loadavg()[0],
          });
          for (let n = 1; n <= st.finalizedBatch; n++) if (!batches.has(n)) batches.set(n, await getJson<BatchInfo>(`${base}/batches/${n}`));
        } catch (e) {
          log({ msg: "bench.sustained.sample_failed", error: String(e) });
        }
        await sleep(SAMPLE_MS);
      }
    })();

    const ops: OpRecord[] = [];
    const inFlight: Promise<void>[] = [];
    const kinds = new Map<string, OpKind>();
    const runOp = async (op: OpRecord): Promise<void> => {
      try {
        if (op.kind === "deposit") {
          const payer = payers[signer.nextDepositTarget()];
          const hash = await depositor.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "deposit", args: [payer.id, 0, PAYMENT], value: PAYMENT, chain: depositor.chain, account: depositor.account });
          const rc = await depositor.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
          op.ackAt = Date.now();
          op.queueIndex = enqueued(rc.logs, dep.rollup).index;
          return;
        }
        if (op.kind === "fill") {
          const { maker, taker } = signer.nextFill();
          const m = await post(`${base}/orders`, maker);
          if (m.status === 503) return void (op.refused = true);
          if (m.status >= 300) return void (op.error = `maker ${m.status} ${m.code}`);
          const t = await post(`${base}/orders`, taker);
          if (t.status === 503) return void (op.refused = true);
          if (t.status >= 300) return void (op.error = `taker ${t.status} ${t.code}`);
          const fills = (t.json as { fills?: Hex[] }).fills ?? [];
          if (fills.length === 0) return void (op.error = "taker_unfilled");
          op.ackAt = Date.now();
          op.hash = fills[0];
          kinds.set(fills[0].toLowerCase(), "fill");
          return;
        }
        const next = signer.nextPayment();
        op.kind = next.kind;
        const r = await post(`${base}/txs`, next.body);
        if (r.status === 503) {
          next.refused();
          return void (op.refused = true);
        }
        if (r.status >= 300) {
          next.refused(); // not accepted: the nonce is still free
          return void (op.error = `${op.kind} ${r.status} ${r.code}`);
        }
        next.accepted();
        op.ackAt = Date.now();
        op.hash = (r.json as { hash: Hex }).hash;
        kinds.set(op.hash.toLowerCase(), op.kind);
      } catch (e) {
        op.error = `exception ${String(e).slice(0, 200)}`;
      }
    };

    const steps: StepResult[] = [];
    const windows: { step: number; rate: number; from: number; to: number }[] = [];
    let stoppedBecause = `all ${rates.length} steps ran`;
    const runStep = async (step: number, rate: number, kindsOfStep: OpKind[]) => {
      const from = Date.now();
      log({ msg: "bench.sustained.step", step, offeredPerS: rate, operations: kindsOfStep.length, seconds: stepS });
      for (let i = 0; i < kindsOfStep.length; i++) {
        const due = from + (i * 1000) / rate;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        const op: OpRecord = { step, kind: kindsOfStep[i], offeredAt: Date.now() };
        ops.push(op);
        inFlight.push(runOp(op));
      }
      const to = from + stepS * 1000;
      if (to > Date.now()) await sleep(to - Date.now());
      windows.push({ step, rate, from, to });
      // The boundedness rule needs the finalizations up to now: one more sample first.
      await sleep(SAMPLE_MS + 500);
      const r = stepResult(step, rate, from, to, stepS, ops, samples, batches, kinds, costs, params);
      steps.push(r);
      log({ msg: "bench.sustained.step_done", ...summary(r) });
      return r;
    };

    let sustainedRate: number | null = null;
    for (let k = 0; k < rates.length; k++) {
      const r = await runStep(k + 1, rates[k], plans[k]);
      if (!r.sustainable) {
        stoppedBecause = `step ${k + 1} (${rates[k]}/s offered) ${!r.boundedness.bounded ? "had an unbounded backlog" : ""}${!r.boundedness.bounded && r.requests503 > 0 ? " and " : ""}${r.requests503 > 0 ? `had ${r.requests503} requests answered 503` : ""}`;
        if ((opts.overloadStep ?? true) && sustainedRate !== null && rates[k] < 2 * sustainedRate) {
          const over = 2 * sustainedRate;
          log({ msg: "bench.sustained.overload_step", offeredPerS: over });
          const kindsOver = plan(over);
          await signer.prepare(kindsOver);
          await runStep(k + 2, over, kindsOver);
        }
        break;
      }
      sustainedRate = rates[k];
    }

    // Drain: wait for what was acknowledged to finalize (or drainS).
    await Promise.all(inFlight);
    const drainUntil = Date.now() + drainS * 1000;
    log({ msg: "bench.sustained.drain", maxSeconds: drainS });
    for (;;) {
      const st = await getJson<StatusView>(`${base}/status`);
      if ((st.finalizedBatch === st.latestBatch && st.pendingTxs === 0 && st.queue.consumed === st.queue.length) || Date.now() > drainUntil || st.halted) break;
      await sleep(1_000);
    }
    sampling = false;
    await sampler;
    const last = seq.status();
    for (let n = 1; n <= last.finalizedBatch; n++) if (!batches.has(n)) batches.set(n, await getJson<BatchInfo>(`${base}/batches/${n}`));
    // Unknown hashes in batches (none expected: registrations are L1 records) are typed through the API.
    for (const b of batches.values()) {
      for (const h of b.txs) if (!kinds.has(h.toLowerCase())) kinds.set(h.toLowerCase(), ((await getJson<{ type: OpKind }>(`${base}/txs/${h}`)).type));
    }
    // Final figures with every finalization known.
    const final = windows.map((w) => stepResult(w.step, w.rate, w.from, w.to, stepS, ops, samples, batches, kinds, costs, params));
    const proofTimes = (await getJson<{ proofTimes: unknown }>(`${base}/prover`)).proofTimes;
    const sustainable = final.filter((s, i) => s.sustainable && final.slice(0, i).every((x) => x.sustainable));
    const best = sustainable.length ? sustainable[sustainable.length - 1] : null;
    const runBatches = [...batches.values()].filter((b) => windows.length > 0 && b.timings.builtAt >= windows[0].from);
    const overall = noopShare(costs, runBatches.map((b) => batchUse(b, kinds, params)));
    return {
      started,
      finished: new Date().toISOString(),
      backend: backendName,
      workers: opts.workers ?? "default",
      config: "default",
      params: paramsKey(params),
      maxBacklogS,
      stepS,
      note: `steps of ${stepS} s back to back (the issue asks for 10 minutes a step; this run used ${stepS} s); after the last step at most ${drainS} s of drain, so that latencies include the backlog the last step left`,
      mix: "per 20 operations, shuffled: 14 fills (a resting GTC maker sell then a crossing IOC taker buy, 0.01 ETH at 2,000 USDC), 4 transfers and 1 withdrawal (0.001 ETH, fee 0, 4 payer accounts), 1 L1 deposit (0.001 ETH); open loop, evenly spaced",
      slotCosts: costs,
      setupSeconds: round(setupSeconds, 1),
      proofTimes,
      steps: final,
      maxSustainableFinalizedPerS: best ? best.finalizedPerS : null,
      maxSustainableOfferedPerS: best ? best.offeredPerS : null,
      stoppedBecause,
      noopShareOverall: overall.share,
      sequencerWarnings: warnings,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch((e) => log({ msg: "bench.sustained.stop_failed", error: String(e) }));
    rmSync(tmp, { recursive: true, force: true });
  }
}

function batchUse(b: BatchInfo, kinds: Map<string, OpKind>, params: Params): BatchUse {
  let l2 = 0;
  let fills = 0;
  for (const h of b.txs) {
    if (kinds.get(h.toLowerCase()) === "fill") fills++;
    else l2++;
  }
  return { shape: b.shape ? parseShapeKey(b.shape) : shapesOf(params)[0], l2, fills, deposits: b.depositCount };
}

function stepResult(
  step: number, rate: number, from: number, to: number, stepS: number, ops: readonly OpRecord[], samples: readonly Sample[],
  batches: ReadonlyMap<number, BatchInfo>, kinds: Map<string, OpKind>, costs: SlotCosts, params: Params,
): StepResult {
  // Finalization times: each L2 operation by its hash, each deposit by its queue index.
  const finalizedAtByHash = new Map<string, number>();
  const finalizedRanges: { start: number; count: number; at: number }[] = [];
  for (const b of batches.values()) {
    if (b.status !== "finalized" || b.timings.finalizedAt === undefined) continue;
    for (const h of b.txs) finalizedAtByHash.set(h.toLowerCase(), b.timings.finalizedAt);
    finalizedRanges.push({ start: b.queueStart, count: b.depositCount, at: b.timings.finalizedAt });
  }
  for (const op of ops) {
    if (op.ackAt === undefined || op.finalizedAt !== undefined) continue;
    if (op.hash) op.finalizedAt = finalizedAtByHash.get(op.hash.toLowerCase());
    else if (op.queueIndex !== undefined) op.finalizedAt = finalizedRanges.find((r) => op.queueIndex! >= r.start && op.queueIndex! < r.start + r.count)?.at;
  }
  const mine = ops.filter((o) => o.step === step);
  const acked = mine.filter((o) => o.ackAt !== undefined);
  const latencies = acked.filter((o) => o.finalizedAt !== undefined).map((o) => o.finalizedAt! - o.ackAt!);
  const unfinalized = acked.length - latencies.length;
  // p99 over every acknowledged operation, an unfinalized one counting as infinitely late.
  const withUnfinalized = [...latencies, ...Array<number>(unfinalized).fill(Infinity)];
  const q = (x: number) => {
    const v = quantile(withUnfinalized, x);
    return v === null || !Number.isFinite(v) ? null : Math.round(v);
  };
  const finalizedIn = (a: number, b: number) => ops.filter((o) => o.finalizedAt !== undefined && o.finalizedAt >= a && o.finalizedAt < b).length;
  const half = from + (to - from) / 2;
  const errors: Record<string, number> = {};
  for (const o of mine) if (o.error) errors[o.error.split(" ").slice(0, 3).join(" ")] = (errors[o.error.split(" ").slice(0, 3).join(" ")] ?? 0) + 1;
  const offeredByKind: Record<OpKind, number> = { fill: 0, transfer: 0, withdraw: 0, deposit: 0 };
  for (const o of mine) offeredByKind[o.kind]++;

  const inStep = samples.filter((s) => s.at >= from && s.at <= to);
  const outstandingAt = (t: number) => ops.filter((o) => o.ackAt !== undefined && o.ackAt <= t && !(o.finalizedAt !== undefined && o.finalizedAt <= t)).length;
  const points = inStep.map((s) => ({ t: s.at - from, backlog: outstandingAt(s.at) }));
  const boundedness = isBounded(points, to - from);

  const stepBatches = [...batches.values()].filter((b) => b.timings.builtAt >= from && b.timings.builtAt < to);
  const uses = stepBatches.map((b) => batchUse(b, kinds, params));
  const noop = noopShare(costs, uses);
  const requests503 = mine.filter((o) => o.refused).length;
  return {
    step,
    offeredPerS: rate,
    seconds: stepS,
    offered: mine.length,
    offeredByKind,
    acknowledged: acked.length,
    acknowledgedPerS: round(acked.length / stepS, 3),
    finalizedPerS: round(finalizedIn(half, to) / ((to - half) / 1000), 3),
    finalizedPerSWholeStep: round(finalizedIn(from, to) / ((to - from) / 1000), 3),
    finalizedOfAcknowledged: latencies.length,
    refused503: mine.filter((o) => o.refused).length,
    requests503,
    errors,
    ackToFinalizedMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: latencies.length && unfinalized === 0 ? Math.max(...latencies) : null, count: latencies.length, unfinalized },
    noop: {
      batches: stepBatches.length,
      share: noop.share,
      slotsUsed: { l2: sum(uses.map((u) => u.l2)), fills: sum(uses.map((u) => u.fills)), deposits: sum(uses.map((u) => u.deposits)) },
      slotsAvailable: { l2: stepBatches.length * params.l2Slots, fills: stepBatches.length * params.fillSlots, deposits: stepBatches.length * params.depositSlots },
    },
    boundedness,
    backlog: {
      t: inStep.map((s) => Math.round((s.at - from) / 100) / 10),
      outstanding: points.map((p) => p.backlog),
      pendingTxs: inStep.map((s) => s.pendingTxs),
      backlogBatches: inStep.map((s) => s.backlogBatches),
      backlogS: inStep.map((s) => (s.backlogS === null ? null : round(s.backlogS, 1))),
      refusing: inStep.map((s) => s.refusing),
    },
    loadAverage: { min: inStep.length ? round(Math.min(...inStep.map((x) => x.load1)), 2) : null, max: inStep.length ? round(Math.max(...inStep.map((x) => x.load1)), 2) : null },
    sustainable: boundedness.bounded && requests503 === 0,
  };
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** One line per step for logs and the table. */
export function summary(r: StepResult): Record<string, unknown> {
  return {
    step: r.step,
    offeredPerS: r.offeredPerS,
    ackedPerS: r.acknowledgedPerS,
    finalizedPerS: r.finalizedPerS,
    p50S: r.ackToFinalizedMs.p50 === null ? null : round(r.ackToFinalizedMs.p50 / 1000, 1),
    p99S: r.ackToFinalizedMs.p99 === null ? null : round(r.ackToFinalizedMs.p99 / 1000, 1),
    unfinalized: r.ackToFinalizedMs.unfinalized,
    refused503: r.refused503,
    noopShare: r.noop.share,
    backlogMiddle: r.boundedness.middle,
    backlogEnd: r.boundedness.end,
    bounded: r.boundedness.bounded,
    sustainable: r.sustainable,
    load1: r.loadAverage.min === null ? null : `${r.loadAverage.min}–${r.loadAverage.max}`,
  };
}

// ------------------------------------------------------------------ signing ahead

interface Signer {
  /** Signs what `kinds` will need (orders in child processes, transactions here). */
  prepare(kinds: readonly OpKind[]): Promise<void>;
  nextFill(): { maker: unknown; taker: unknown };
  /** The payer whose turn it is: its oldest transaction not yet accepted. */
  nextPayment(): { kind: "transfer" | "withdraw"; body: unknown; accepted(): void; refused(): void };
  nextDepositTarget(): number;
}

function makeSigner(dir: string, domain: { chainId: number; rollup: Hex }, traders: readonly { priv: string; id: number }[], payers: readonly { priv: string; id: number }[]): Signer {
  const fills: { maker: unknown; taker: unknown }[] = [];
  let fillCursor = 0;
  let fillsPlanned = 0;
  const orderIds = new Map<number, bigint>();
  const queues = payers.map(() => [] as { kind: "transfer" | "withdraw"; body: unknown }[]);
  const nonces = payers.map(() => 0n);
  let paymentsPlanned = 0;
  let paymentTurn = 0;
  let depositTurn = 0;
  let batchNo = 0;
  return {
    async prepare(kinds) {
      const orders: UnsignedOrder[] = [];
      for (const k of kinds) {
        if (k === "fill") {
          const f = fillsPlanned++;
          const makerKey = f % 2;
          const takerKey = 2 + (f % 2);
          for (const [key, side, tif] of [[makerKey, "sell", "gtc"], [takerKey, "buy", "ioc"]] as const) {
            const account = traders[key].id;
            const orderId = orderIds.get(account) ?? 1n;
            orderIds.set(account, orderId + 1n);
            orders.push({ key, timeInForce: tif, order: { account, orderId: orderId.toString(), base: 0, quote: 1, side, amount: ORDER_BASE.toString(), quoteAmount: ORDER_QUOTE.toString(), maxFeeBips: 30, validUntil: MAX_U32 } });
          }
        } else if (k === "transfer" || k === "withdraw") {
          const p = paymentsPlanned++ % payers.length;
          const nonce = nonces[p]++;
          const zero = { r8x: 0n, r8y: 0n, s: 0n };
          const unsigned: L2Tx =
            k === "transfer"
              ? { type: "transfer", from: payers[p].id, to: payers[(p + 1) % payers.length].id, token: 0, amount: PAYMENT, fee: 0n, nonce, validUntil: MAX_U32, signature: zero }
              : { type: "withdraw", account: payers[p].id, token: 0, amount: PAYMENT, fee: 0n, nonce, validUntil: MAX_U32, signature: zero };
          const tx = { ...unsigned, signature: signMessage(payers[p].priv, txMessage(unsigned, domain)) } as L2Tx;
          queues[p].push({ kind: k, body: txToWire(tx) });
        }
      }
      const bodies = await signOrders(dir, `b${batchNo++}`, { domain, keys: traders.map((t) => t.priv), orders });
      for (let i = 0; i < bodies.length; i += 2) fills.push({ maker: bodies[i], taker: bodies[i + 1] });
    },
    nextFill() {
      if (fillCursor >= fills.length) throw new Error("no signed fill left");
      return fills[fillCursor++];
    },
    nextPayment() {
      // The payer whose turn it is, or the next one with something signed.
      for (let i = 0; i < payers.length; i++) {
        const p = (paymentTurn + i) % payers.length;
        const head = queues[p][0];
        if (!head) continue;
        paymentTurn = (p + 1) % payers.length;
        let done = false;
        return {
          kind: head.kind,
          body: head.body,
          accepted: () => {
            if (!done && queues[p][0] === head) queues[p].shift();
            done = true;
          },
          refused: () => undefined,
        };
      }
      throw new Error("no signed transaction left");
    },
    nextDepositTarget() {
      return depositTurn++ % payers.length;
    },
  };
}

/** Signs orders in parallel child processes (bench/sign-orders.ts), one per core; the bodies come back in order. */
async function signOrders(dir: string, tag: string, job: SignJob): Promise<unknown[]> {
  if (job.orders.length === 0) return [];
  const parts = Math.max(1, Math.min(os.availableParallelism(), Math.ceil(job.orders.length / 50)));
  const size = Math.ceil(job.orders.length / parts);
  const run = (i: number) =>
    new Promise<unknown[]>((resolve, reject) => {
      const input = join(dir, `sign-${tag}-${i}.json`);
      const output = join(dir, `signed-${tag}-${i}.json`);
      writeFileSync(input, JSON.stringify({ ...job, orders: job.orders.slice(i * size, (i + 1) * size) }));
      const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), join(__dirname, "sign-orders.ts"), input, output], { stdio: ["ignore", "inherit", "inherit"] });
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(readFileSync(output, "utf8")) as unknown[]) : reject(new Error(`order signer exited ${code}`))));
    });
  return (await Promise.all(Array.from({ length: parts }, (_, i) => run(i)))).flat();
}

// ------------------------------------------------------------------ HTTP and L1 helpers

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** One POST, no retry: a 503 is counted by the caller, not waited out (cli/api-client.ts would wait). */
async function post(url: string, body: unknown): Promise<{ status: number; code: string | null; json: unknown }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  const code = res.ok ? null : ((json as { error?: { code?: string } } | null)?.error?.code ?? `http_${res.status}`);
  return { status: res.status, code, json };
}

function enqueued(logs: readonly { address: string; data: Hex; topics: readonly Hex[] }[], rollup: string): { index: number; accountId: number } {
  for (const lg of logs) {
    if (lg.address.toLowerCase() !== rollup.toLowerCase()) continue;
    try {
      const ev = decodeEventLog({ abi: rollupAbi, data: lg.data, topics: lg.topics as [Hex, ...Hex[]] });
      if (ev.eventName === "Enqueued") return { index: Number(ev.args.index), accountId: Number(ev.args.accountId) };
    } catch {
      /* another event */
    }
  }
  throw new Error("no Enqueued event in the receipt");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ------------------------------------------------------------------ command line

if (require.main === module) {
  const { values } = parseArgs({
    options: { backend: { type: "string" }, rates: { type: "string" }, "step-s": { type: "string" }, "drain-s": { type: "string" }, seed: { type: "string" }, out: { type: "string" }, "no-overload-step": { type: "boolean" }, workers: { type: "string" } },
  });
  const backend = values.backend ?? "native";
  if (backend !== "native" && backend !== "snarkjs") throw new Error("--backend must be native or snarkjs");
  const rates = values.rates ? values.rates.split(",").map(Number) : undefined;
  if (rates && (rates.length === 0 || rates.some((r) => !(r > 0)))) throw new Error("--rates takes positive operations/s, comma-separated");
  const logLine = (o: object) => process.stderr.write(JSON.stringify({ t: new Date().toISOString(), ...o }) + "\n");
  benchSustained({
    backend,
    ...(values.workers ? { workers: Number(values.workers) } : {}),
    rates,
    stepS: values["step-s"] ? Number(values["step-s"]) : undefined,
    drainS: values["drain-s"] ? Number(values["drain-s"]) : undefined,
    seed: values.seed ? Number(values.seed) : undefined,
    overloadStep: !values["no-overload-step"],
    log: logLine,
  }).then(
    (r) => {
      const text = JSON.stringify(r, null, 2) + "\n";
      if (values.out) writeFileSync(values.out, text);
      console.table(r.steps.map(summary));
      console.log(`max sustainable: ${r.maxSustainableFinalizedPerS ?? "none"} finalized ops/s (offered ${r.maxSustainableOfferedPerS ?? "—"}/s); stopped: ${r.stoppedBecause}; noop share overall ${r.noopShareOverall}`);
      if (!values.out) console.log(text);
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
