/**
 * Sequencer end to end: HTTP → core batch → real Groth16 proof (prover pool, development keys of
 * the test circuit) → submitBatch on anvil → finalized; then a restart with accepted-unbatched
 * and unproven txs, which must all end finalized; then a stale copy of the database adopts the
 * batches L1 already has without proving or sending anything, and halts on the one it never built.
 *
 * Keys: compileCircuit + ensureKeys (cached under build/ and .modex/keys; ~15 s the first time).
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { ANVIL_DEV_PRIVATE_KEYS, startAnvil, type AnvilInstance } from "../chain/anvil";
import { batchCircuitName, batchCircuitSource } from "../circuits/batch";
import { compileCircuit } from "../circuits/compile";
import { rollupAbi } from "../contracts/abi";
import { checkInvariants } from "./helpers/invariants";
import { connectL1, type L1Clients } from "../contracts/clients";
import { deployModex, type ModexDeployment } from "../contracts/deploy";
import { CONFIGS, fieldToHex, generatePrivateKey, initCrypto, publicKeyOf, State, type PublicKey } from "../core";
import { ensureKeys, releaseSnarkjsCurve } from "../prover/keys";
import { createProverPool, type ProverPool } from "../prover/pool";
import type { CircuitArtifacts } from "../prover/types";
import { serve, type RunningApi } from "../sequencer/api";
import { sequencerClient, signTx, type SequencerClient, type UnsignedTx } from "../sequencer/client";
import { silentLogger } from "../sequencer/log";
import { createSequencer, type Sequencer, type SequencerOptions } from "../sequencer/sequencer";
import type { TxInfo } from "../sequencer/views";

const P = CONFIGS.test;
const ETHER = 10n ** 18n;
const MAX_U32 = 2 ** 32 - 1;
const quiet = silentLogger;

interface User {
  readonly priv: Hex;
  readonly key: PublicKey;
  readonly l1: L1Clients;
  readonly id: number;
}

let anvil: AnvilInstance;
let tmp: string;
let artifacts: CircuitArtifacts;
let verifierPath: string;
let dep: ModexDeployment;
let alice: User;
let bob: User;
const pools: ProverPool[] = [];

async function registerUser(i: number, amount: bigint): Promise<User> {
  const priv = generatePrivateKey();
  const key = publicKeyOf(priv);
  const l1 = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[i], chainId: anvil.chainId });
  const id = Number(await l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: "nextAccountId" }));
  const hash = await l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "register", args: [key.ax, key.ay, 0, amount], value: amount });
  const r = await l1.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error("register reverted");
  return { priv, key, l1, id };
}

/** Nodes not yet closed: afterAll closes them even when a test failed half way. */
const openNodes = new Set<Node>();

interface Node {
  readonly seq: Sequencer;
  readonly api: RunningApi;
  readonly client: SequencerClient;
  close(): Promise<void>;
}

async function openNode(db: string, extra: Partial<SequencerOptions> & Pick<SequencerOptions, "prover">, start = true): Promise<Node> {
  const seq = await createSequencer({
    params: P,
    db,
    l1: { rpcUrl: anvil.rpcUrl, rollup: dep.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: dep.deployBlock, pollIntervalMs: 200 },
    log: quiet,
    ...extra,
  });
  const api = await serve(seq, 0, { log: quiet });
  let closing: Promise<void> | null = null;
  if (start) await seq.start();
  const node: Node = {
    seq,
    api,
    client: sequencerClient(api.url),
    close: () =>
      (closing ??= (async () => {
        openNodes.delete(node);
        await api.close();
        await seq.stop();
      })()),
  };
  openNodes.add(node);
  return node;
}

function pool(): ProverPool {
  const p = createProverPool({ artifacts, log: quiet });
  pools.push(p);
  return p;
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 480_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const read = <T>(functionName: "batchNumber" | "stateRoot", args: readonly unknown[] = []): Promise<T> =>
  alice.l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName, args } as never) as Promise<T>;

function allFinalized(client: SequencerClient, hashes: readonly Hex[]): Promise<TxInfo[]> {
  return until(`txs ${hashes.join(", ")} finalized`, async () => {
    const txs = await Promise.all(hashes.map((h) => client.tx(h)));
    const bad = txs.find((t) => t.status === "rejected");
    if (bad) throw new Error(`tx ${bad.hash} was rejected: ${JSON.stringify(bad.reason)}`);
    return txs.every((t) => t.status === "finalized") ? txs : null;
  });
}

beforeAll(async () => {
  await initCrypto();
  tmp = mkdtempSync(join(tmpdir(), "modex-seq-e2e-"));
  const circuit = await compileCircuit({ name: batchCircuitName(P), mainSource: batchCircuitSource(P), log: quiet });
  const keys = await ensureKeys(circuit, { log: quiet });
  artifacts = { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath };
  verifierPath = keys.verifierPath;
  anvil = await startAnvil({ port: 0 });
  const operatorPriv = generatePrivateKey();
  dep = await deployModex({ rpcUrl: anvil.rpcUrl, verifierSource: keys.verifierPath, params: P, genesisRoot: new State(P).root, operatorKey: publicKeyOf(operatorPriv) });
  alice = await registerUser(1, 10n * ETHER);
  bob = await registerUser(2, 0n);
});

afterAll(async () => {
  await Promise.all([...openNodes].map((n) => n.close()));
  await Promise.all(pools.map((p) => p.close()));
  await anvil?.stop();
  await releaseSnarkjsCurve();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("sequencer end to end (real proofs on anvil)", () => {
  let db: string;
  let node: Node;
  const sign = (u: User, nonce: number, tx: Partial<UnsignedTx> & { type: "transfer" | "withdraw" }) =>
    signTx(
      u.priv,
      (tx.type === "transfer"
        ? { token: 0, amount: 0n, fee: 0n, nonce: BigInt(nonce), validUntil: MAX_U32, from: u.id, to: 0, ...tx }
        : { token: 0, amount: 0n, fee: 0n, nonce: BigInt(nonce), validUntil: MAX_U32, account: u.id, ...tx }) as UnsignedTx,
      { chainId: dep.chainId, rollup: dep.rollup },
    );

  test("HTTP → batch → proof → submitBatch → finalized on L1, withdrawal credited", async () => {
    db = join(tmp, "e2e.sqlite");
    // A long timeout: batches here are cut because they are full (2 txs, or 1 queue record).
    node = await openNode(db, { prover: pool(), batchTimeoutMs: 60_000 });
    // The registrations must be in a built batch before their accounts can sign anything.
    await until("registrations batched", async () => (await node.client.status()).queue.consumed === 3, 30_000);
    const t0 = Date.now();
    const t1 = await node.client.submit(sign(alice, 0, { type: "transfer", to: bob.id, amount: ETHER }));
    const t2 = await node.client.submit(sign(alice, 1, { type: "withdraw", amount: ETHER / 2n, fee: 1000n }));
    const txs = await allFinalized(node.client, [t1.hash, t2.hash]);
    const e2eMs = Date.now() - t0;

    const s = await node.client.status();
    expect(s.halted).toBeNull();
    expect(s.finalizedBatch).toBe(s.latestBatch);
    expect(s.finalizedBatch).toBe(4); // three registrations, one batch with both txs
    expect(Number(await read<bigint>("batchNumber"))).toBe(4);
    expect(fieldToHex(await read<bigint>("stateRoot"))).toBe(s.stateRoot);
    expect(s.finalizedRoot).toBe(s.stateRoot);

    const b = await node.client.batch(4);
    expect(b).toMatchObject({ status: "finalized", txs: [t1.hash, t2.hash], l1TxHash: expect.stringMatching(/^0x[0-9a-f]{64}$/), gasUsed: expect.stringMatching(/^\d+$/), worker: expect.any(String) });
    expect(b.timings).toMatchObject({ proveMs: expect.any(Number), witnessMs: expect.any(Number), provingWallMs: expect.any(Number), submitMs: expect.any(Number), finalizedAt: expect.any(Number) });
    for (const v of Object.values(b.timings)) expect(typeof v).toBe("number");
    for (const t of txs) expect(t).toMatchObject({ status: "finalized", batch: 4 });
    const withdrawn = await alice.l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: "pendingWithdrawal", args: [alice.l1.account.address, 0] });
    expect(withdrawn).toBe(ETHER / 2n);
    expect(await node.client.account(alice.id)).toMatchObject({ nonce: 2, balances: { "0": (10n * ETHER - ETHER - ETHER / 2n - 1000n).toString() } });
    expect(await node.client.account(0)).toMatchObject({ balances: { "0": "1000" } });
    console.log(JSON.stringify({ metric: "sequencer.e2e", txToFinalizedMs: e2eMs, gasUsed: b.gasUsed, batch4: b.timings }));
  });

  test("restart with accepted-unbatched and unproven txs: all end finalized", async () => {
    // Two txs fill a batch that goes to the prover; a third waits for a batch (60 s timeout).
    const t3 = await node.client.submit(sign(bob, 0, { type: "transfer", to: alice.id, amount: ETHER / 4n }));
    const t4 = await node.client.submit(sign(alice, 2, { type: "transfer", to: bob.id, amount: 1n }));
    const t5 = await node.client.submit(sign(bob, 1, { type: "withdraw", amount: ETHER / 10n }));
    await until("batch 5 proving", async () => (await node.client.batch(5).catch(() => null))?.status === "proving", 20_000);
    expect((await node.client.tx(t5.hash)).status).toBe("accepted");
    await node.close();
    await pools[0].close(); // the abandoned proof would only compete for the CPU
    // A copy of the database as it was at this crash point, for the next test.
    copyFileSync(db, join(tmp, "stale.sqlite"));

    // Look at what the restart recovered before its loops run (t5 is long past the batch timeout).
    node = await openNode(db, { prover: pool(), batchTimeoutMs: 500 }, false);
    const before = await node.client.status();
    expect(before).toMatchObject({ latestBatch: 5, finalizedBatch: 4, pendingTxs: 1 });
    await node.seq.start();
    const txs = await allFinalized(node.client, [t3.hash, t4.hash, t5.hash]);
    expect(txs.map((t) => t.batch)).toEqual([5, 5, 6]);
    const s = await node.client.status();
    expect(s).toMatchObject({ latestBatch: 6, finalizedBatch: 6, pendingTxs: 0, halted: null });
    expect(Number(await read<bigint>("batchNumber"))).toBe(6);
    expect(fieldToHex(await read<bigint>("stateRoot"))).toBe(s.stateRoot);
    const withdrawn = await bob.l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: "pendingWithdrawal", args: [bob.l1.account.address, 0] });
    expect(withdrawn).toBe(ETHER / 10n);
    await node.close();
    // After every batch of this history: solvency per token and credits to the right owners.
    expect(await checkInvariants({ rpcUrl: anvil.rpcUrl, rollup: dep.rollup })).toMatchObject({ batches: 6, violations: [] });
  });

  test("a stale database adopts its batches that L1 has, without proving or sending, and halts on ones it does not know", async () => {
    const prover = pool();
    const l1Before = Number(await read<bigint>("batchNumber"));
    node = await openNode(join(tmp, "stale.sqlite"), { prover, proving: false, batchTimeoutMs: 60_000 });
    const s = await node.client.status();
    // Batch 5 was "proving" in the copy; L1 has it with the same root: adopted as finalized.
    // L1 also has batch 6, which this copy never built: it must not build on top of the chain blindly.
    expect(s).toMatchObject({ latestBatch: 5, finalizedBatch: 5, pendingTxs: 1, halted: { reason: expect.stringMatching(/L1 has 6 finalized batches/) } });
    expect((await node.client.batch(5)).status).toBe("finalized");
    expect(prover.pending).toBe(0);
    expect(Number(await read<bigint>("batchNumber"))).toBe(l1Before);
    await node.close();
  });
});

describe("sequencer against a Rollup whose verifier has other keys", () => {
  test("submitBatch reverts: the batch is failed with the decoded error, submission stops, /v1/status says why", async () => {
    // Keys from a second (development) setup of the same circuit: the pool's proofs verify
    // against its own vkey, but the Rollup's verifier was built from the other keys.
    const circuit = await compileCircuit({ name: batchCircuitName(P), mainSource: batchCircuitSource(P), log: quiet });
    const otherKeys = await ensureKeys(circuit, { log: quiet, keysRoot: join(tmp, "other-keys") });
    const operatorPriv = generatePrivateKey();
    const other = await deployModex({ rpcUrl: anvil.rpcUrl, verifierSource: otherKeys.verifierPath, params: P, genesisRoot: new State(P).root, operatorKey: publicKeyOf(operatorPriv) });
    const seq = await createSequencer({
      params: P,
      db: join(tmp, "wrong-keys.sqlite"),
      l1: { rpcUrl: anvil.rpcUrl, rollup: other.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: other.deployBlock, pollIntervalMs: 200 },
      prover: pool(),
      log: quiet,
    });
    await seq.start();
    try {
      const s = await until("halted", async () => (seq.status().halted ? seq.status() : null));
      expect(s.halted).toMatchObject({ batch: 1, reason: expect.stringMatching(/submitBatch 1 reverted: InvalidProof\(\)/) });
      expect(seq.batch(1)).toMatchObject({ status: "failed", error: expect.stringMatching(/^InvalidProof\(\)/) });
      expect(s.finalizedBatch).toBe(0);
      const onChain = await alice.l1.publicClient.readContract({ address: other.rollup, abi: rollupAbi, functionName: "batchNumber" });
      expect(onChain).toBe(0n);
    } finally {
      await seq.stop();
    }
  });

  test("backpressure: past the proving-backlog bound new transactions get 503 with Retry-After and change nothing; accepted again once proofs catch up", async () => {
    const fresh = await deployModex({ rpcUrl: anvil.rpcUrl, verifierSource: verifierPath, params: P, genesisRoot: new State(P).root, operatorKey: publicKeyOf(generatePrivateKey()) });
    const priv = generatePrivateKey();
    const key = publicKeyOf(priv);
    const l1 = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[3], chainId: anvil.chainId });
    const id = Number(await l1.publicClient.readContract({ address: fresh.rollup, abi: rollupAbi, functionName: "nextAccountId" }));
    const reg = await l1.walletClient.writeContract({ address: fresh.rollup, abi: rollupAbi, functionName: "register", args: [key.ax, key.ay, 0, ETHER], value: ETHER });
    expect((await l1.publicClient.waitForTransactionReceipt({ hash: reg })).status).toBe("success");
    const seq = await createSequencer({
      params: P,
      db: join(tmp, "backpressure.sqlite"),
      l1: { rpcUrl: anvil.rpcUrl, rollup: fresh.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: fresh.deployBlock, pollIntervalMs: 200 },
      prover: pool(),
      // Any backlog at all is too much: the first accepted transaction closes the door until it is proven.
      maxBacklogS: 0,
      batchTimeoutMs: 500,
      log: quiet,
    });
    const api = await serve(seq, 0, { log: quiet });
    await seq.start();
    try {
      // Until a proof has been timed, capacity is unknown and nothing is refused.
      expect(seq.status().proving).toMatchObject({ proofS: null, backlogS: null, maxBacklogS: 0, refusing: false });
      const proven = await until("the registrations proven and finalized", async () => {
        const st = seq.status();
        return st.queue.consumed === st.queue.length && st.finalizedBatch === st.latestBatch && st.proving.proofS !== null && st.proving.backlogBatches === 0 ? st : null;
      });
      expect(proven.proving.proofS).toBeGreaterThan(0);
      const domain = { chainId: fresh.chainId, rollup: fresh.rollup };
      const tx = (nonce: number) => signTx(priv, { type: "transfer", from: id, to: 0, token: 0, amount: 1000n, fee: 0n, nonce: BigInt(nonce), validUntil: MAX_U32 }, domain);
      const post = (body: unknown) => fetch(`${api.url}/v1/txs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

      const first = await post(tx(0));
      expect(first.status).toBe(202);
      // The capacity figure is recomputed at most every 100 ms.
      await new Promise((r) => setTimeout(r, 150));
      const refused = await post(tx(1));
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      const body = (await refused.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("overloaded");
      expect(body.error.message).toMatch(/^proving backlog is [\d.]+ s \(1 batches × [\d.]+ s per proof \/ \d+ workers?\), over this sequencer's bound of 0 s; retry after \d+ s$/);
      const during = seq.status();
      expect(during.proving).toMatchObject({ backlogBatches: 1, refusing: true });
      expect(during.pendingTxs + during.prover.pending).toBeGreaterThanOrEqual(1);
      const metrics = await (await fetch(`${api.url}/metrics`)).text();
      expect(metrics).toMatch(/^modex_overloaded 1$/m);

      // The first transaction is proven and finalized: the backlog is gone, and the refused one goes through.
      await until("the accepted transfer finalized", async () => {
        const st = seq.status();
        return st.pendingTxs === 0 && st.proving.backlogBatches === 0 && st.finalizedBatch === st.latestBatch ? st : null;
      });
      await new Promise((r) => setTimeout(r, 150));
      const retried = await post(tx(1));
      expect(retried.status).toBe(202);
      expect(seq.account(id).pendingNonce).toBe(2);
    } finally {
      await api.close();
      await seq.stop();
    }
  });

  test("a proof that does not verify under the sequencer's own key is never accepted: the job fails with the reason, nothing is submitted", async () => {
    // The pool proves with the deployed keys; the sequencer checks against another setup's vkey.
    const circuit = await compileCircuit({ name: batchCircuitName(P), mainSource: batchCircuitSource(P), log: quiet });
    const otherKeys = await ensureKeys(circuit, { log: quiet, keysRoot: join(tmp, "other-keys") });
    const fresh = await deployModex({ rpcUrl: anvil.rpcUrl, verifierSource: verifierPath, params: P, genesisRoot: new State(P).root, operatorKey: publicKeyOf(generatePrivateKey()) });
    const seq = await createSequencer({
      params: P,
      db: join(tmp, "unverified.sqlite"),
      l1: { rpcUrl: anvil.rpcUrl, rollup: fresh.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: fresh.deployBlock, pollIntervalMs: 200 },
      prover: pool(),
      vkeyPath: otherKeys.vkeyPath,
      maxProveAttempts: 2,
      log: quiet,
    });
    await seq.start();
    try {
      const s = await until("halted", async () => (seq.status().halted ? seq.status() : null));
      expect(s.halted).toMatchObject({ batch: 1, reason: expect.stringMatching(/batch 1 could not be proven: proof of batch 1 from worker \d+ rejected: the proof does not verify/) });
      expect(seq.batch(1)).toMatchObject({ status: "failed" });
      const view = await seq.proverView();
      const job = view.recent.find((j) => j.batch === 1);
      expect(job).toMatchObject({ state: "failed", attempts: 2, verifiedAt: null, submittedAt: null });
      expect(job?.errors).toHaveLength(2);
      expect(view.failures.map((j) => j.batch)).toContain(1);
      const onChain = await alice.l1.publicClient.readContract({ address: fresh.rollup, abi: rollupAbi, functionName: "batchNumber" });
      expect(onChain).toBe(0n);
    } finally {
      await seq.stop();
    }
  });
});

