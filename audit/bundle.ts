/**
 * Proof bundles: a rollup's finalized batches written out so that anyone can check them without
 * a chain. DIR/verification_key.json, DIR/manifest.json, and per batch DIR/batch-000001/
 * {pubdata.hex, public.json, proof.json, batch.json}; public.json and proof.json are what
 * `snarkjs groth16 verify` takes. A bundle that does not start at batch 1 carries DIR/snapshot.json,
 * the state before its first batch.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import {
  State, addCounts, decodePubdata, emptyCounts, fromHex, publicSignalsOf, pubdataBytes, queueHashNext, replayBatch, toHex, ReplayError,
  parseShapeKey, shapeKey, shapesOf, withShape, type Params, type QueueRecord, type ReplayCounts,
} from "../core";
import { createProofVerifier } from "../prover/verify";
import { defaultVkey, rebuildStateFromChain, runAudit, type BatchProgress, type Mismatch } from "./audit";
import { readSnapshotFile, snapshotOf, writeSnapshotFile } from "./snapshot";

export const BUNDLE_VERSION = 1;

export interface BundleManifest {
  readonly kind: "modex-proof-bundle";
  readonly version: number;
  readonly chainId: number;
  readonly rollup: string;
  readonly config: string;
  readonly params: Params;
  readonly verifier: string;
  /** Whether, at export, the deployed verifier's bytecode was the verifier of verification_key.json. */
  readonly verifierMatchesKey: boolean;
  /** Batch numbers in the bundle, ascending and contiguous. */
  readonly batches: readonly number[];
  /** batchRoots(0), and the root before the first batch (decimal). */
  readonly genesisRoot: string;
  readonly startRoot: string;
  /** "snapshot.json" when the bundle does not start at batch 1. */
  readonly snapshot: string | null;
  readonly verificationKey: string;
  /**
   * A rollup of several batch shapes (PROTOCOL.md §5.5): each shape's key file and deployed verifier;
   * verificationKey is the first's. Absent for a rollup of one shape.
   */
  readonly shapes?: readonly BundleShape[];
  readonly exportedAt: string;
}

export interface BundleShape {
  /** d<D>-n<N>-m<M> */
  readonly shape: string;
  readonly verificationKey: string;
  readonly verifier: string;
  readonly verifierMatchesKey: boolean;
}

export interface BundleRecord {
  readonly index: number;
  readonly kind: number;
  readonly accountId: number;
  readonly token: number;
  readonly amount: string;
  readonly ax: string;
  readonly ay: string;
  /** queueHash[index + 1] from its Enqueued event. */
  readonly queueHash: string;
}

export interface BundleBatch {
  readonly batch: number;
  readonly oldRoot: string;
  readonly newRoot: string;
  readonly queueHashBefore: string;
  readonly queueHashAfter: string;
  readonly chainId: number;
  /** The batch's shape, d<D>-n<N>-m<M>; absent in bundles of a one-shape rollup (its only shape). */
  readonly shape?: string;
  readonly timestamp: number;
  readonly depositCount: number;
  readonly feeTokens: readonly number[];
  readonly publicInput: string;
  readonly l1: { readonly txHash: string; readonly blockNumber: string };
  readonly queue: { readonly consumedBefore: number; readonly records: readonly BundleRecord[] };
  readonly withdrawals: readonly { readonly accountId: number; readonly owner: string; readonly token: number; readonly amount: string }[];
}

export const batchDirName = (n: number): string => `batch-${String(n).padStart(6, "0")}`;

export interface ExportOptions {
  readonly rpcUrl: string;
  readonly rollup: string;
  readonly out: string;
  readonly from?: number;
  readonly to?: number;
  readonly config?: string;
  readonly vkeyPath?: string;
  readonly keysRoot?: string;
  readonly fromBlock?: bigint;
  readonly onBatch?: (n: number) => void;
}

export interface ExportResult {
  readonly dir: string;
  readonly batches: readonly number[];
  readonly vkey: string;
  readonly manifest: BundleManifest;
}

export async function exportBundle(o: ExportOptions): Promise<ExportResult> {
  const from = o.from ?? 1;
  if (!Number.isInteger(from) || from < 1) throw new Error("--from must be at least 1");
  const run = await runAudit({ rpcUrl: o.rpcUrl, rollup: o.rollup, config: o.config, vkeyPath: o.vkeyPath, keysRoot: o.keysRoot, fromBlock: o.fromBlock, toBatch: o.to, collect: true, verifyProofs: false, checkVerifier: true });
  const { params, config } = run.report;
  const to = run.report.batches.to;
  if (o.to !== undefined && o.to > run.info.batchNumber) throw new Error(`--to ${o.to}: the chain has ${run.info.batchNumber} finalized batches`);
  if (from > to) throw new Error(`no batches to export: --from ${from}, last finalized batch ${run.info.batchNumber}`);
  const shapes = shapesOf(params);
  const vkey = await defaultVkey(withShape(params, shapes[0]), o.vkeyPath, o.keysRoot);
  if (!vkey) throw new Error(`no verification key for config ${config}: pass --vkey FILE`);
  const dir = path.resolve(o.out);
  mkdirSync(dir, { recursive: true });
  copyFileSync(vkey.path, path.join(dir, "verification_key.json"));
  // Several shapes: each shape's key beside the first's (runAudit checked each deployed verifier against it).
  let bundleShapes: BundleShape[] | undefined;
  if (shapes.length > 1) {
    bundleShapes = [];
    for (const [i, shape] of shapes.entries()) {
      const checked = run.report.shapes[i];
      const k = checked?.vkey ?? (await defaultVkey(withShape(params, shape), undefined, o.keysRoot));
      if (!k) throw new Error(`no verification key for config ${config}'s shape ${shapeKey(shape)}`);
      const file = `verification_key-${shapeKey(shape)}.json`;
      copyFileSync(k.path, path.join(dir, file));
      bundleShapes.push({ shape: shapeKey(shape), verificationKey: file, verifier: run.info.verifiers[i]?.address ?? "", verifierMatchesKey: checked?.verifier?.matches ?? false });
    }
  }

  const batches = run.collected.filter((b) => b.batch >= from && b.batch <= to);
  let snapshot: string | null = null;
  if (from > 1) {
    const before = await rebuildStateFromChain({ rpcUrl: o.rpcUrl, rollup: o.rollup, config, fromBlock: o.fromBlock, toBatch: from - 1 });
    writeSnapshotFile(path.join(dir, "snapshot.json"), snapshotOf(before.state, { batch: from - 1, consumed: before.consumed, queueHash: before.queueHash, chainId: before.chainId, rollup: before.rollup }));
    snapshot = "snapshot.json";
  }
  for (const b of batches) {
    const d = path.join(dir, batchDirName(b.batch));
    mkdirSync(d, { recursive: true });
    const info: BundleBatch = {
      batch: b.batch,
      oldRoot: b.event.oldRoot.toString(),
      newRoot: b.call.newRoot.toString(),
      queueHashBefore: b.queueHashBefore.toString(),
      queueHashAfter: b.queueHashAfter.toString(),
      chainId: run.reader.chainId,
      ...(shapes.length > 1 && b.shape ? { shape: shapeKey(b.shape) } : {}),
      timestamp: b.call.timestamp,
      depositCount: b.call.depositCount,
      feeTokens: [...b.call.feeTokens],
      publicInput: b.publicInput.toString(),
      l1: { txHash: b.event.txHash, blockNumber: b.event.blockNumber.toString() },
      queue: {
        consumedBefore: b.consumedBefore,
        records: b.records.map((e) => ({ index: e.index, kind: e.record.kind, accountId: e.record.accountId, token: e.record.token, amount: e.record.amount.toString(), ax: e.record.ax.toString(), ay: e.record.ay.toString(), queueHash: e.queueHash.toString() })),
      },
      withdrawals: b.event.withdrawals.map((w) => ({ accountId: w.accountId, owner: w.owner, token: w.token, amount: w.amount.toString() })),
    };
    writeFileSync(path.join(d, "pubdata.hex"), toHex(b.pubdata) + "\n");
    writeFileSync(path.join(d, "public.json"), JSON.stringify(publicSignalsOf(b.pubdata).map(String)) + "\n");
    writeFileSync(path.join(d, "proof.json"), JSON.stringify(b.proof, null, 1) + "\n");
    writeFileSync(path.join(d, "batch.json"), JSON.stringify(info, null, 1) + "\n");
    o.onBatch?.(b.batch);
  }
  const manifest: BundleManifest = {
    kind: "modex-proof-bundle",
    version: BUNDLE_VERSION,
    chainId: run.reader.chainId,
    rollup: run.reader.rollup,
    config,
    params,
    verifier: run.info.verifier,
    verifierMatchesKey: run.report.verifier?.matches ?? false,
    batches: batches.map((b) => b.batch),
    genesisRoot: run.info.genesisRoot.toString(),
    startRoot: batches.length ? batches[0].event.oldRoot.toString() : run.info.genesisRoot.toString(),
    snapshot,
    verificationKey: "verification_key.json",
    ...(bundleShapes ? { shapes: bundleShapes } : {}),
    exportedAt: new Date().toISOString(),
  };
  writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(manifest, null, 1) + "\n");
  return { dir, batches: manifest.batches, vkey: vkey.path, manifest };
}

export interface BundleReport {
  readonly ok: boolean;
  readonly dir: string;
  readonly chainId: number;
  readonly rollup: string;
  readonly config: string;
  readonly params: Params;
  readonly batches: { readonly from: number; readonly to: number; readonly count: number };
  readonly operations: ReplayCounts;
  readonly proofsVerified: number;
  readonly finalRoot: string | null;
  readonly mismatches: readonly Mismatch[];
  readonly seconds: number;
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, "utf8")) as T;

/** Checks a bundle with no chain: public inputs, proofs under the bundle's key, root and queue chaining, and the replay. */
export async function verifyBundle(dirArg: string, onBatch?: (p: BatchProgress) => void): Promise<BundleReport> {
  const t0 = performance.now();
  const dir = path.resolve(dirArg);
  const manifestPath = path.join(dir, "manifest.json");
  if (!existsSync(manifestPath)) throw new Error(`${dir} is not a proof bundle (no manifest.json)`);
  const m = readJson<BundleManifest>(manifestPath);
  if (m.kind !== "modex-proof-bundle" || m.version !== BUNDLE_VERSION) throw new Error(`${manifestPath}: not a version ${BUNDLE_VERSION} modex proof bundle`);
  const p = m.params;
  const mismatches: Mismatch[] = [];
  const bad = (batch: number | null, check: string, reason: string): void => void mismatches.push({ batch, check, reason });
  // One verifier per shape key; a one-shape bundle has the params' own shape only.
  const verifiers = new Map<string, Awaited<ReturnType<typeof createProofVerifier>>>();
  if (m.shapes && m.shapes.length > 0) for (const x of m.shapes) verifiers.set(x.shape, await createProofVerifier(path.join(dir, x.verificationKey)));
  else verifiers.set(shapeKey(shapesOf(p)[0]), await createProofVerifier(path.join(dir, m.verificationKey)));

  let state: State;
  let live = true;
  if (m.snapshot) {
    const s = readSnapshotFile(path.join(dir, m.snapshot));
    if (!s) throw new Error(`${dir}: ${m.snapshot} is missing`);
    state = s.state;
  } else {
    state = new State(p);
    if (state.root.toString() !== m.genesisRoot) {
      bad(null, "genesis", `the bundle's genesis root ${m.genesisRoot} is not the empty state's root ${state.root}`);
      live = false;
    }
  }
  if (state.root.toString() !== m.startRoot) bad(null, "start-root", `the bundle starts from root ${m.startRoot}, its initial state has ${state.root}`);

  const present = readdirSync(dir).filter((f) => /^batch-\d{6}$/.test(f)).sort();
  if (present.length !== m.batches.length) bad(null, "manifest", `the manifest lists ${m.batches.length} batches, the directory has ${present.length}`);

  let operations = emptyCounts();
  let proofsVerified = 0;
  let prevRoot: bigint = BigInt(m.startRoot);
  let prevQueueHash: bigint | null = null;
  m.batches.forEach((n, i) => {
    if (i > 0 && n !== m.batches[i - 1] + 1) bad(n, "manifest", `batch ${n} does not follow batch ${m.batches[i - 1]}`);
  });
  for (const n of m.batches) {
    const tb = performance.now();
    const before = mismatches.length;
    const here = (check: string, reason: string): void => bad(n, check, reason);
    const d = path.join(dir, batchDirName(n));
    let ops = emptyCounts();
    let proofState: BatchProgress["proof"] = "skipped";
    let replayed = false;
    try {
      const pubdata = fromHex(readFileSync(path.join(d, "pubdata.hex"), "utf8").trim());
      const pub = readJson<unknown>(path.join(d, "public.json"));
      const proof = readJson<unknown>(path.join(d, "proof.json"));
      const b = readJson<BundleBatch>(path.join(d, "batch.json"));
      const signals = publicSignalsOf(pubdata).map(String);
      const input = signals[0];
      const shapeName = b.shape ?? shapeKey(shapesOf(p)[0]);
      const verifier = verifiers.get(shapeName);
      if (!verifier) throw new Error(`batch ${n} is of shape ${shapeName}, for which the bundle has no verification key`);
      const sp = withShape(p, parseShapeKey(shapeName));
      if (!Array.isArray(pub) || pub.length !== signals.length || pub.some((x, i) => x !== signals[i])) here("public-input", `the public inputs of pubdata.hex [${signals.join(", ")}] (PROTOCOL.md §5.2) are not public.json's ${JSON.stringify(pub)}`);
      if (b.publicInput !== input) here("public-input", `batch.json's public input ${b.publicInput} is not sha256(pubdata[128:]) mod 2^253 = ${input}`);
      const why = await verifier.check(proof, signals, signals);
      if (why) {
        proofState = "failed";
        here("proof", `the proof does not verify for batch ${n}'s public input ${input} under the bundle's verification key of shape ${shapeName}`);
      } else {
        proofState = "verified";
        proofsVerified += 1;
      }
      if (pubdata.length !== pubdataBytes(sp)) {
        here("pubdata", `pubdata is ${pubdata.length} bytes, expected ${pubdataBytes(sp)} for shape ${shapeName}`);
        live = false;
      } else {
        const pd = decodePubdata(sp, pubdata);
        if (pd.oldRoot !== prevRoot) here("old-root", `oldRoot ${pd.oldRoot} is not the previous batch's root ${prevRoot}`);
        if (pd.chainId !== m.chainId) here("header", `chain id ${pd.chainId} is not the bundle's ${m.chainId}`);
        const header: [string, bigint | number, string | number][] = [["oldRoot", pd.oldRoot, b.oldRoot], ["newRoot", pd.newRoot, b.newRoot], ["queueHashBefore", pd.queueHashBefore, b.queueHashBefore], ["queueHashAfter", pd.queueHashAfter, b.queueHashAfter], ["timestamp", pd.timestamp, b.timestamp]];
        for (const [name, a, x] of header) if (a.toString() !== String(x)) here("header", `pubdata ${name} ${a} is not batch.json's ${x}`);
        if (prevQueueHash !== null && pd.queueHashBefore !== prevQueueHash) here("queue", `queueHashBefore ${pd.queueHashBefore} is not the previous batch's queueHashAfter ${prevQueueHash}`);
        const records: QueueRecord[] = b.queue.records.map((r) => ({ kind: r.kind as QueueRecord["kind"], accountId: r.accountId, token: r.token, amount: BigInt(r.amount), ax: BigInt(r.ax), ay: BigInt(r.ay) }));
        if (records.length !== b.depositCount) here("queue", `batch.json has ${records.length} queue records for depositCount ${b.depositCount}`);
        let q: bigint = pd.queueHashBefore;
        for (const r of records) q = queueHashNext(q, r);
        if (q !== pd.queueHashAfter) here("queue", `the queue records hash to ${q}, the pubdata's queueHashAfter is ${pd.queueHashAfter}`);
        if (live) {
          if (state.root !== pd.oldRoot) {
            here("old-root", `the replayed root ${state.root} is not the batch's oldRoot ${pd.oldRoot}`);
            live = false;
          } else {
            try {
              const r = replayBatch(state, { pubdata: pd, records });
              replayed = true;
              ops = r.counts;
              if (r.newRoot !== pd.newRoot) {
                here("new-root", `the replay's new root ${r.newRoot} is not the pubdata's newRoot ${pd.newRoot}`);
                live = false;
              }
              const same = r.pubdata.length === pubdata.length && r.pubdata.every((x, k) => x === pubdata[k]);
              if (!same) here("pubdata", "the replay's pubdata differs from the bundle's");
            } catch (e) {
              if (!(e instanceof ReplayError)) throw e;
              here("replay", `operation cannot apply: ${e.message}`);
              live = false;
            }
          }
        }
        prevRoot = pd.newRoot;
        prevQueueHash = pd.queueHashAfter;
      }
    } catch (e) {
      here("files", e instanceof Error ? e.message : String(e));
      live = false;
    }
    operations = addCounts(operations, ops);
    onBatch?.({ batch: n, last: m.batches[m.batches.length - 1], ok: mismatches.length === before, operations: ops, proof: proofState, replayed, mismatches: mismatches.slice(before), ms: performance.now() - tb });
  }
  const first = m.batches[0] ?? 0;
  const lastN = m.batches[m.batches.length - 1] ?? 0;
  return {
    ok: mismatches.length === 0,
    dir,
    chainId: m.chainId,
    rollup: m.rollup,
    config: m.config,
    params: p,
    batches: { from: first, to: lastN, count: m.batches.length },
    operations,
    proofsVerified,
    finalRoot: live ? state.root.toString() : null,
    mismatches,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
}
