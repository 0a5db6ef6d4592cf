/**
 * The audit driver: reads a rollup's history from the chain alone (audit/chain.ts), rebuilds the
 * state from genesis (or a snapshot) with core/replay.ts, and checks every finalized batch: the
 * queue records it consumed, root chaining, its replayed root and pubdata, its public input, its
 * Groth16 proof (offline, under the verification key), and the withdrawals the contract credited.
 * Also checks that the deployed verifier is the verifier of that key.
 *
 * rebuildStateFromChain is the same replay without proofs or the bytecode check: the State at the
 * last finalized batch with the queue and chain positions (what `modex exit` needs).
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { Address } from "viem";
import { batchCircuitSource } from "../circuits/batch";
import { computeCircuitHash } from "../circuits/compile";
import { proofFromSolidity, type SnarkjsProofJson } from "../contracts/proof";
import type { RollupParams } from "../contracts/deploy";
import {
  CONFIGS, State, addCounts, decodePubdata, pubdataFieldAt, emptyCounts, publicSignalsOf, queueHashNext, replayBatch, ReplayError,
  shapeKey, shapesOf, withShape, type Params, type QueueRecord, type Shape, type ReplayCounts, type Withdrawal,
} from "../core";
import type { Groth16VerificationKey } from "../prover/keys";
import { DEFAULT_KEYS_ROOT } from "../prover/keys";
import { createProofVerifier, type ProofVerifier } from "../prover/verify";
import {
  calldataShape, connectChain, contractPubdata, readBatchRoot, readBatches, readQueue, readRollupInfo,
  type ChainReader, type FinalizedBatch, type QueueEntry, type RollupInfo, type SubmitBatchCall,
} from "./chain";
import { readSnapshotFile, snapshotOf, writeSnapshotFile, type LoadedSnapshot } from "./snapshot";
import { checkVerifierCode, type VerifierCodeCheck } from "./verifier-code";

export interface Mismatch {
  /** null: not about one batch (genesis, the verifier, the key, the snapshot). */
  readonly batch: number | null;
  readonly check: string;
  readonly reason: string;
}

export interface BatchProgress {
  readonly batch: number;
  readonly last: number;
  readonly ok: boolean;
  readonly operations: ReplayCounts;
  readonly proof: "verified" | "failed" | "skipped";
  readonly replayed: boolean;
  readonly mismatches: readonly Mismatch[];
  readonly ms: number;
}

export interface AuditOptions {
  readonly rpcUrl: string;
  readonly rollup: string;
  /** A config name of core/params.ts (orderLevels is not on chain). Default: the config whose other params match. */
  readonly config?: string;
  /** Verification key JSON. Default: .modex/keys/<circuit hash of the config>/verification_key.json. */
  readonly vkeyPath?: string;
  readonly keysRoot?: string;
  /** Load it if it exists, resume after its batch; write it back when the audit passes. */
  readonly snapshotPath?: string;
  readonly fromBlock?: bigint;
  /** Audit batches up to this one only (default: the last finalized). */
  readonly toBatch?: number;
  readonly verifyProofs?: boolean;
  readonly checkVerifier?: boolean;
  /** Keep each batch's chain data (for export). */
  readonly collect?: boolean;
  readonly onBatch?: (p: BatchProgress) => void;
}

export interface ShapeKeyCheck {
  readonly shape: Shape;
  readonly vkey: VkeyChoice | null;
  readonly verifier: VerifierCodeCheck | null;
}

export interface VkeyChoice {
  readonly path: string;
  readonly source: "--vkey" | "keys directory";
}

export interface AuditReport {
  readonly ok: boolean;
  readonly chainId: number;
  readonly rollup: string;
  readonly config: string;
  readonly params: Params;
  /** The first shape's key and verifier check (`shapes` has every shape's). */
  readonly vkey: VkeyChoice | null;
  readonly verifier: VerifierCodeCheck | null;
  /** Each batch shape's verification key and deployed-verifier check (empty when neither was asked for). */
  readonly shapes: readonly ShapeKeyCheck[];
  readonly snapshot: { readonly file: string; readonly loadedBatch: number | null; readonly written: boolean } | null;
  /** Batches audited in this run. */
  readonly batches: { readonly from: number; readonly to: number; readonly count: number };
  readonly lastFinalizedBatch: number;
  readonly operations: ReplayCounts;
  readonly proofsVerified: number;
  /** The replayed state root after the last batch (null when the replay stopped). */
  readonly finalRoot: string | null;
  readonly chainRoot: string;
  readonly mismatches: readonly Mismatch[];
  readonly seconds: number;
  /** Where the time went, in ms: chain reads (views, events, transactions), the verifier bytecode check, proof verification, replay. */
  readonly timings: { readonly readMs: number; readonly verifierCheckMs: number; readonly proofMs: number; readonly replayMs: number };
}

/** One batch's chain data, as the contract saw it (for export). */
export interface CollectedBatch {
  readonly batch: number;
  readonly event: FinalizedBatch;
  readonly call: SubmitBatchCall;
  readonly pubdata: Uint8Array;
  readonly publicInput: bigint;
  readonly proof: SnarkjsProofJson;
  readonly consumedBefore: number;
  readonly records: readonly QueueEntry[];
  readonly queueHashBefore: bigint;
  readonly queueHashAfter: bigint;
  /** The batch's shape, as the contract found it from the calldata lengths (null: lengths of no shape). */
  readonly shape: Shape | null;
}

export interface RebuiltState {
  readonly state: State;
  readonly params: Params;
  readonly config: string;
  readonly chainId: number;
  readonly rollup: Address;
  /** The last finalized batch, whose root the state has. */
  readonly batchNumber: number;
  readonly root: bigint;
  /** Queue records consumed by finalized batches, and queueHash[consumed]. */
  readonly consumed: number;
  readonly queueHash: bigint;
  /** Every queue record on chain (consumed or not), by index. */
  readonly queue: readonly QueueEntry[];
  /** L1 owner of each registered account (the Enqueued sender of its registration). */
  readonly owners: ReadonlyMap<number, Address>;
  /** The block every read was pinned to. */
  readonly block: bigint;
}

export interface AuditRun {
  readonly report: AuditReport;
  /** The replayed state after the last audited batch, when the replay did not stop. */
  readonly rebuilt: RebuiltState | null;
  readonly collected: readonly CollectedBatch[];
  readonly info: RollupInfo;
  readonly reader: ChainReader;
}

/** The config whose parameters are the rollup's; `name` when given (checked against the chain). */
export function resolveConfig(onChain: RollupParams, name?: string): { config: string; params: Params } {
  const shapes = (p: RollupParams): string => shapesOf({ ...p, orderLevels: 1 }).map(shapeKey).join(",");
  const same = (p: Params): boolean =>
    p.accountLevels === onChain.accountLevels && p.balanceLevels === onChain.balanceLevels && p.feeBuckets === onChain.feeBuckets && shapes(p) === shapes(onChain);
  const describe = `${JSON.stringify({ accountLevels: onChain.accountLevels, balanceLevels: onChain.balanceLevels, feeBuckets: onChain.feeBuckets })} with shapes ${shapes(onChain)}`;
  if (name !== undefined) {
    if (!(name in CONFIGS)) throw new Error(`unknown config "${name}" (expected one of: ${Object.keys(CONFIGS).join(", ")})`);
    const p = CONFIGS[name as keyof typeof CONFIGS];
    if (!same(p)) throw new Error(`config ${name} does not match the rollup's params ${describe}`);
    return { config: name, params: p };
  }
  const match = Object.entries(CONFIGS).find(([, p]) => same(p));
  if (!match) throw new Error(`no known config matches the rollup's params ${describe}; pass --config NAME`);
  return { config: match[0], params: match[1] };
}

/**
 * --vkey, else the key in .modex/keys for the circuit of `params` (one batch shape: withShape); null
 * when there is none.
 */
export async function defaultVkey(params: Params, vkeyPath: string | undefined, keysRoot = DEFAULT_KEYS_ROOT): Promise<VkeyChoice | null> {
  if (vkeyPath !== undefined) return { path: path.resolve(vkeyPath), source: "--vkey" };
  const hash = await computeCircuitHash(batchCircuitSource(params));
  const file = path.join(keysRoot, hash, "verification_key.json");
  return existsSync(file) ? { path: file, source: "keys directory" } : null;
}

const dec = (x: bigint): string => x.toString();


function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function sameWithdrawals(events: readonly { accountId: number; owner: string; token: number; amount: bigint }[], replay: readonly Withdrawal[], owners: ReadonlyMap<number, Address>): string | null {
  if (events.length !== replay.length) return `${events.length} WithdrawalCredited events, the replay produces ${replay.length} withdrawals`;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const w = replay[i];
    if (e.accountId !== w.accountId || e.token !== w.token || e.amount !== w.amount) {
      return `withdrawal ${i}: credited account ${e.accountId} token ${e.token} amount ${e.amount}, the replay has account ${w.accountId} token ${w.token} amount ${w.amount}`;
    }
    const owner = owners.get(w.accountId);
    if (owner && owner.toLowerCase() !== e.owner.toLowerCase()) return `withdrawal ${i}: credited to ${e.owner}, account ${w.accountId}'s owner is ${owner}`;
  }
  return null;
}

export async function runAudit(o: AuditOptions): Promise<AuditRun> {
  const t0 = performance.now();
  const timings = { readMs: 0, verifierCheckMs: 0, proofMs: 0, replayMs: 0 };
  const timed = async <T>(k: keyof typeof timings, f: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      timings[k] += performance.now() - t;
    }
  };
  const reader = await connectChain(o.rpcUrl, o.rollup, { fromBlock: o.fromBlock });
  const info = await timed("readMs", () => readRollupInfo(reader));
  const { config, params } = resolveConfig(info.params, o.config);
  const verifyProofs = o.verifyProofs ?? true;
  const checkVerifier = o.checkVerifier ?? true;
  const mismatches: Mismatch[] = [];
  const bad = (batch: number | null, check: string, reason: string): void => void mismatches.push({ batch, check, reason });

  // Each shape's key, and whether the deployed verifier of that shape is its verifier (PROTOCOL.md §5.5).
  const shapeChecks: ShapeKeyCheck[] = [];
  const verifiers = new Map<string, ProofVerifier>();
  if (verifyProofs || checkVerifier) {
    const shapes = shapesOf(params);
    if (o.vkeyPath !== undefined && shapes.length > 1) throw new Error(`--vkey names one key; the rollup has ${shapes.length} batch shapes (${shapes.map(shapeKey).join(", ")}): use the keys directory (--keys DIR)`);
    for (const [i, shape] of shapes.entries()) {
      const key = shapeKey(shape);
      const vkey = await defaultVkey(withShape(params, shape), o.vkeyPath, o.keysRoot);
      let verifierCheck: VerifierCodeCheck | null = null;
      if (!vkey) bad(null, "vkey", `no verification key: none in ${o.keysRoot ?? DEFAULT_KEYS_ROOT} for config ${config}'s circuit of shape ${key}; pass --vkey FILE or --keys DIR`);
      else {
        if (!existsSync(vkey.path)) throw new Error(`verification key ${vkey.path} not found`);
        const json = JSON.parse(readFileSync(vkey.path, "utf8")) as Groth16VerificationKey;
        if (verifyProofs) verifiers.set(key, await createProofVerifier(vkey.path));
        const address = info.verifiers[i]?.address;
        if (checkVerifier && address) {
          const label = vkey.path;
          verifierCheck = await timed("verifierCheckMs", () => checkVerifierCode(reader, address, json, label, info.block));
          // With several shapes, which one's verifier it is.
          if (!verifierCheck.matches) bad(null, "verifier", `${shapes.length > 1 ? `shape ${key}: ` : ""}${verifierCheck.reason ?? "verifier mismatch"}`);
        }
      }
      shapeChecks.push({ shape, vkey, verifier: verifierCheck });
    }
  }

  const queue = await timed("readMs", () => readQueue(reader, info.block));
  const owners = new Map<number, Address>();
  for (const e of queue) if (e.record.kind === 2) owners.set(e.record.accountId, e.sender);
  const queueHashAt = (k: number): bigint => (k === 0 ? 0n : queue[k - 1].queueHash);
  if (queue.length !== info.queueLength) bad(null, "queue", `${queue.length} Enqueued events, the contract's queueLength is ${info.queueLength}`);

  // Starting point: genesis, or a snapshot.
  let state: State;
  let start = 0;
  let consumed = 0;
  let queueHash = 0n; // recomputed from the records, never read from events
  let chainRoot = info.genesisRoot;
  let live = true;
  let loaded: LoadedSnapshot | null = null;
  if (o.snapshotPath) loaded = readSnapshotFile(o.snapshotPath);
  if (loaded) {
    if (loaded.chainId !== reader.chainId || loaded.rollup.toLowerCase() !== reader.rollup.toLowerCase()) {
      throw new Error(`snapshot ${o.snapshotPath} is of rollup ${loaded.rollup} on chain ${loaded.chainId}, not ${reader.rollup} on ${reader.chainId}`);
    }
    const keys = Object.keys(params) as (keyof Params)[];
    if (keys.some((k) => loaded?.params[k] !== params[k])) throw new Error(`snapshot ${o.snapshotPath} has params ${JSON.stringify(loaded.params)}, the audit uses ${JSON.stringify(params)}`);
    if (o.toBatch !== undefined && o.toBatch < loaded.batch) throw new Error(`snapshot ${o.snapshotPath} covers batch ${loaded.batch}, after the requested last batch ${o.toBatch}`);
    if (loaded.batch > info.batchNumber) throw new Error(`snapshot ${o.snapshotPath} covers batch ${loaded.batch}, the chain has ${info.batchNumber}`);
    const onChain = await readBatchRoot(reader, loaded.batch, info.block);
    if (onChain !== loaded.root) throw new Error(`snapshot ${o.snapshotPath}: its root after batch ${loaded.batch} is ${loaded.root}, the chain's batchRoots(${loaded.batch}) is ${onChain}`);
    state = loaded.state;
    start = loaded.batch;
    consumed = loaded.consumed;
    queueHash = loaded.queueHash;
    chainRoot = onChain;
    if (consumed > queue.length || queueHashAt(consumed) !== queueHash) bad(null, "snapshot", `snapshot queue position ${consumed} (hash ${queueHash}) is not the chain's queue`);
  } else {
    state = new State(params);
    if (state.root !== info.genesisRoot) {
      bad(null, "genesis", `batchRoots(0) = ${info.genesisRoot} is not the empty state's root ${state.root} for config ${config}`);
      live = false;
    }
  }

  const last = o.toBatch === undefined ? info.batchNumber : Math.min(o.toBatch, info.batchNumber);
  const batches = await timed("readMs", () => readBatches(reader, start + 1, last, info.block));
  let operations = emptyCounts();
  let proofsVerified = 0;
  const collected: CollectedBatch[] = [];

  for (let n = start + 1; n <= last; n++) {
    const tb = performance.now();
    const before = mismatches.length;
    const here = (check: string, reason: string): void => bad(n, check, reason);
    let proofState: BatchProgress["proof"] = "skipped";
    let replayed = false;
    let ops = emptyCounts();
    const ev = batches.get(n);
    const finish = (): void => {
      o.onBatch?.({ batch: n, last, ok: mismatches.length === before, operations: ops, proof: proofState, replayed, mismatches: mismatches.slice(before), ms: performance.now() - tb });
    };
    if (!ev) {
      here("event", `no BatchFinalized event for batch ${n}`);
      live = false;
      finish();
      continue;
    }
    if (ev.oldRoot !== chainRoot) here("old-root", `BatchFinalized oldRoot ${ev.oldRoot} is not batch ${n - 1}'s root ${chainRoot}`);
    const call = ev.call;
    if (!call) {
      here("calldata", ev.callError ?? "cannot decode the calldata");
      chainRoot = ev.newRoot;
      consumed += ev.depositCount;
      live = false;
      finish();
      continue;
    }
    const found = calldataShape(params, call);
    if (found.error) here("calldata", found.error);
    const shape = found.shape;
    const shapeParams = shape ? withShape(params, shape) : params;
    if (call.newRoot !== ev.newRoot) here("new-root", `calldata newRoot ${call.newRoot} is not BatchFinalized's ${ev.newRoot}`);
    if (call.depositCount !== ev.depositCount || call.timestamp !== ev.timestamp) here("calldata", "calldata depositCount/timestamp differ from BatchFinalized's");

    // The queue records consumed, and the queue hashes: recomputed from the records vs Enqueued's.
    const records = queue.slice(consumed, consumed + call.depositCount);
    if (records.length !== call.depositCount) here("queue", `consumes queue records ${consumed}..${consumed + call.depositCount - 1}, only ${queue.length} were enqueued`);
    const qBefore = queueHashAt(consumed);
    if (qBefore !== queueHash) here("queue", `queueHashBefore ${qBefore} (Enqueued) is not ${queueHash} recomputed from the records`);
    let recomputed = queueHash;
    for (const r of records) recomputed = queueHashNext(recomputed, r.record);
    const qAfter = records.length === call.depositCount ? queueHashAt(consumed + call.depositCount) : 0n;
    if (records.length === call.depositCount && recomputed !== qAfter) here("queue", `queueHashAfter ${qAfter} (Enqueued) is not ${recomputed} recomputed from records ${consumed}..${consumed + call.depositCount - 1}`);

    // The pubdata and public inputs the contract verified the proof against.
    const pubdata = contractPubdata({ oldRoot: ev.oldRoot, queueHashBefore: qBefore, queueHashAfter: qAfter, chainId: reader.chainId, rollup: reader.rollup }, call);
    const signals = publicSignalsOf(pubdata);
    const publicInput = signals[0];
    const publicSignals = signals.map(dec);
    const proof = proofFromSolidity(call.proof);
    const verifier = shape ? verifiers.get(shapeKey(shape)) : undefined;
    if (verifier) {
      const v = verifier;
      const why = await timed("proofMs", () => v.check(proof, publicSignals, publicSignals));
      if (why) {
        proofState = "failed";
        const vkeyPath = shapeChecks.find((c) => shape && shapeKey(c.shape) === shapeKey(shape))?.vkey?.path;
        here("proof", `the proof does not verify for batch ${n}'s public inputs [${publicSignals.join(", ")}] under ${vkeyPath}${why.startsWith("verification failed") ? ` (${why})` : ""}`);
      } else {
        proofState = "verified";
        proofsVerified += 1;
      }
    }
    if (o.collect) collected.push({ batch: n, event: ev, call, pubdata, publicInput, proof, consumedBefore: consumed, records, queueHashBefore: qBefore, queueHashAfter: qAfter, shape });

    // Replay with core's rules.
    if (live && shape) {
      if (state.root !== ev.oldRoot) {
        here("old-root", `the replayed state's root ${state.root} is not the batch's oldRoot ${ev.oldRoot}`);
        live = false;
      } else {
        try {
          const tr = performance.now();
          const r = replayBatch(state, { pubdata: decodePubdata(shapeParams, pubdata), records: records.map((e) => e.record) });
          timings.replayMs += performance.now() - tr;
          replayed = true;
          ops = r.counts;
          if (r.newRoot !== call.newRoot) {
            here("new-root", `the replay's new root ${r.newRoot} is not the calldata's newRoot ${call.newRoot}`);
            live = false;
          }
          const d = firstDiff(r.pubdata, pubdata);
          if (d >= 0) here("pubdata", `the replay's pubdata differs from the calldata's at byte ${d} (${pubdataFieldAt(shapeParams, d)})`);
          if (r.publicInput !== publicInput) here("public-input", `the replay's public input ${r.publicInput} is not the calldata's ${publicInput}`);
          const w = sameWithdrawals(ev.withdrawals, r.withdrawals, owners);
          if (w) here("withdrawals", w);
        } catch (e) {
          if (!(e instanceof ReplayError)) throw e;
          // The chain accepted what core refuses: report it, and follow the chain if the published data,
          // applied without core's rules, gives the chain's root (so `modex exit` can still prove balances).
          const followed = followPublished(state, shapeParams, pubdata, records.map((r) => r.record), call.newRoot);
          here("replay", `operation cannot apply: ${e.message}${followed ? "; the state follows the published data (applied without core's rules, its root is the chain's)" : ""}`);
          if (!followed) live = false;
        }
      }
      if (!live && n < last) {
        const m = mismatches[mismatches.length - 1];
        mismatches[mismatches.length - 1] = { ...m, reason: `${m.reason}; the replay stops here, later batches are checked without it` };
      }
    }
    operations = addCounts(operations, ops);
    queueHash = recomputed;
    consumed += call.depositCount;
    chainRoot = ev.newRoot;
    finish();
  }

  const chainFinal = await readBatchRoot(reader, last, info.block);
  if (chainFinal !== chainRoot) bad(null, "final-root", `batchRoots(${last}) = ${chainFinal}, the last BatchFinalized says ${chainRoot}`);
  if (live && state.root !== chainFinal) bad(null, "final-root", `the replayed root ${state.root} is not the chain's ${chainFinal}`);

  const ok = mismatches.length === 0;
  let written = false;
  if (ok && o.snapshotPath && live) {
    writeSnapshotFile(o.snapshotPath, snapshotOf(state, { batch: last, consumed, queueHash, chainId: reader.chainId, rollup: reader.rollup }));
    written = true;
  }
  const report: AuditReport = {
    ok,
    chainId: reader.chainId,
    rollup: reader.rollup,
    config,
    params,
    vkey: shapeChecks[0]?.vkey ?? null,
    verifier: shapeChecks[0]?.verifier ?? null,
    shapes: shapeChecks,
    snapshot: o.snapshotPath ? { file: o.snapshotPath, loadedBatch: loaded ? loaded.batch : null, written } : null,
    batches: { from: start + 1, to: last, count: Math.max(0, last - start) },
    lastFinalizedBatch: info.batchNumber,
    operations,
    proofsVerified,
    finalRoot: live ? dec(state.root) : null,
    chainRoot: dec(chainFinal),
    mismatches,
    seconds: Math.round(performance.now() - t0) / 1000,
    timings: { readMs: Math.round(timings.readMs), verifierCheckMs: Math.round(timings.verifierCheckMs), proofMs: Math.round(timings.proofMs), replayMs: Math.round(timings.replayMs) },
  };
  const rebuilt: RebuiltState | null = live
    ? { state, params, config, chainId: reader.chainId, rollup: reader.rollup, batchNumber: last, root: state.root, consumed, queueHash, queue, owners, block: info.block }
    : null;
  return { report, rebuilt, collected, info, reader };
}

/** Applies a batch's published data without core's rules; keeps it only when it reaches the chain's root. */
function followPublished(state: State, params: Params, pubdata: Uint8Array, records: readonly QueueRecord[], chainRoot: bigint): boolean {
  try {
    const r = replayBatch(state, { pubdata: decodePubdata(params, pubdata), records }, { rules: false, dryRun: true });
    if (r.newRoot !== chainRoot) return false;
    replayBatch(state, { pubdata: decodePubdata(params, pubdata), records }, { rules: false });
    return true;
  } catch (e) {
    if (e instanceof ReplayError) return false;
    throw e;
  }
}

/** The audit report of a rollup's history (see runAudit). */
export async function auditChain(o: AuditOptions): Promise<AuditReport> {
  return (await runAudit(o)).report;
}

export class RebuildError extends Error {
  readonly mismatches: readonly Mismatch[];
  constructor(mismatches: readonly Mismatch[]) {
    super(`cannot rebuild the state from the chain: ${mismatches.map((m) => `${m.batch === null ? "" : `batch ${m.batch}: `}${m.reason}`).join("; ")}`);
    this.name = "RebuildError";
    this.mismatches = mismatches;
  }
}

/**
 * The State at the last finalized batch, rebuilt from chain data alone (events and calldata), with
 * the queue records and chain positions. Proofs are not verified here (the contract did). What the
 * chain accepted is what users exit from: a batch whose bytes or rules differ from core's is kept
 * (and listed in `divergences`) as long as its published data reaches the chain's root; only a
 * state that cannot follow the chain's roots throws a RebuildError.
 */
export async function rebuildStateFromChain(o: Pick<AuditOptions, "rpcUrl" | "rollup" | "config" | "fromBlock" | "snapshotPath" | "toBatch">): Promise<RebuiltState & { readonly divergences: readonly Mismatch[] }> {
  const run = await runAudit({ ...o, verifyProofs: false, checkVerifier: false });
  if (!run.rebuilt) throw new RebuildError(run.report.mismatches);
  return { ...run.rebuilt, divergences: run.report.mismatches };
}

export type { QueueRecord };
