/**
 * Audit speed: a full `modex audit` pass over a history on anvil (events, calldata, replay with
 * core), the replay alone, and offline Groth16 verification of real proofs.
 *
 * The chain history uses the default config with every slot used (deposit, transfers, a fill) and
 * an accept-anything verifier, so it can be long without proving each batch; proof verification is
 * measured apart, on a real proof of the test circuit (the cost of a Groth16 verification does not
 * depend on the circuit's size, only on its one public input).
 */
import * as path from "node:path";
import * as snarkjs from "snarkjs";
import { toHex } from "viem";
import { ANVIL_DEV_PRIVATE_KEYS, startAnvil } from "../chain/anvil";
import { batchCircuitName, batchCircuitSource } from "../circuits/batch";
import { compileCircuit } from "../circuits/compile";
import { rollupAbi, testTokenAbi } from "../contracts/abi";
import { connectL1, type L1Clients } from "../contracts/clients";
import { deployModex } from "../contracts/deploy";
import {
  CONFIGS, State, buildBatch, shapesOf, generatePrivateKey, orderMessage, publicKeyOf, signMessage, txMessage, withdrawBitmap,
  QUEUE_DEPOSIT, QUEUE_REGISTER, type FillOp, type L2Tx, type Order, type QueueRecord,
} from "../core";
import { ensureKeys } from "../prover/keys";
import { createProofVerifier } from "../prover/verify";
import { runAudit } from "../audit";
import { fullBatch } from "./prover";

/** Accepts every proof (test/fixtures/contracts/AcceptAnythingVerifier.sol): never deployed for real. */
const ACCEPT_ANYTHING = path.join(__dirname, "..", "test", "fixtures", "contracts", "AcceptAnythingVerifier.sol");

export interface AuditBench {
  readonly config: string;
  readonly batches: number;
  readonly operations: number;
  readonly chain: { readonly seconds: number; readonly batchesPerSec: number; readonly opsPerSec: number; readonly timingsMs: Record<string, number> };
  readonly replay: { readonly seconds: number; readonly batchesPerSec: number; readonly opsPerSec: number };
  readonly proofs: { readonly config: string; readonly verified: number; readonly seconds: number; readonly proofsPerSec: number };
  readonly note: string;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

async function mined(c: L1Clients, hash: `0x${string}`): Promise<void> {
  const r = await c.publicClient.waitForTransactionReceipt({ hash });
  if (r.status !== "success") throw new Error(`L1 tx ${hash} reverted`);
}

export async function benchAudit(o: { batches?: number; proofs?: number; log?: (o: object) => void } = {}): Promise<AuditBench> {
  const log = o.log ?? ((): void => undefined);
  const n = o.batches ?? 40;
  const p = CONFIGS.default;
  const anvil = await startAnvil({ port: 0 });
  let chain: AuditBench["chain"];
  let replay: AuditBench["replay"];
  let operations: number;
  let batches: number;
  try {
    const l1 = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], chainId: anvil.chainId });
    const opKey = generatePrivateKey();
    const dep = await deployModex({ rpcUrl: anvil.rpcUrl, shapes: shapesOf(p).map((shape) => ({ shape, verifierSource: ACCEPT_ANYTHING })), params: p, genesisRoot: new State(p).root, operatorKey: publicKeyOf(opKey) });
    const state = new State(p);
    const records: QueueRecord[] = [{ kind: QUEUE_REGISTER, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(opKey) }];
    const keys = [opKey];
    for (let i = 1; i <= 3; i++) {
      const k = generatePrivateKey();
      keys.push(k);
      const pub = publicKeyOf(k);
      const amount = 10n ** 20n;
      await mined(l1, await l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "register", args: [pub.ax, pub.ay, 0, amount], value: amount }));
      records.push({ kind: QUEUE_REGISTER, accountId: i, token: 0, amount, ...pub });
    }
    let q = 0n;
    let consumed = 0;
    const submit = async (deposits: number, txs: L2Tx[], fills: FillOp[]) => {
      const block = await l1.publicClient.getBlock();
      const b = buildBatch(state, { chainId: anvil.chainId, rollup: dep.rollup, timestamp: Number(block.timestamp), queueHashBefore: q, deposits: records.slice(consumed, consumed + deposits), txs, fills });
      q = b.queueHashAfter;
      consumed += deposits;
      const args = [b.newRoot, b.timestamp, b.depositCount, toHex(Uint8Array.from(b.feeTokens)), toHex(withdrawBitmap(b.chunks)), toHex(b.slotData), toHex(b.forcedExitData), new Array(8).fill(0n)] as const;
      await mined(l1, await l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "submitBatch", args: args as never }));
    };
    await submit(2, [], []);
    await submit(2, [], []);
    const zero = { r8x: 0n, r8y: 0n, s: 0n };
    const VU = 2 ** 32 - 1;
    const nonces = [0n, 0n, 0n, 0n];
    const signOrder = (ord: Omit<Order, "signature">, k: string): Order => ({ ...ord, signature: signMessage(k, orderMessage({ ...ord, signature: zero }, { chainId: anvil.chainId, rollup: dep.rollup })) });
    // Account 1 sells ETH (token 0) to account 2 for test USDC (token 1), which account 2 deposits first.
    const usdc = 10n ** 15n;
    await mined(l1, await l1.walletClient.writeContract({ address: dep.tokens[0].address, abi: testTokenAbi, functionName: "mint", args: [l1.account.address, usdc] }));
    await mined(l1, await l1.walletClient.writeContract({ address: dep.tokens[0].address, abi: testTokenAbi, functionName: "approve", args: [dep.rollup, usdc] }));
    await mined(l1, await l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "deposit", args: [2, 1, usdc] }));
    records.push({ kind: QUEUE_DEPOSIT, accountId: 2, token: 1, amount: usdc, ax: 0n, ay: 0n });
    const sell = signOrder({ account: 1, orderId: 1n, base: 0, quote: 1, side: "sell", amount: 10n ** 18n, quoteAmount: 10n ** 12n, maxFeeBips: 30, validUntil: VU }, keys[1]);
    const buy = signOrder({ account: 2, orderId: 1n, base: 0, quote: 1, side: "buy", amount: 10n ** 18n, quoteAmount: 10n ** 12n, maxFeeBips: 30, validUntil: VU }, keys[2]);
    log({ msg: "bench.audit.history", batches: n });
    for (let i = 0; i < n; i++) {
      // One deposit per batch (queued now), every L2 slot a transfer, the fill slot a partial fill.
      await mined(l1, await l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "deposit", args: [3, 0, 1000n], value: 1000n }));
      records.push({ kind: QUEUE_DEPOSIT, accountId: 3, token: 0, amount: 1000n, ax: 0n, ay: 0n });
      const txs: L2Tx[] = [];
      for (let s = 0; s < p.l2Slots; s++) {
        const from = 1 + ((i + s) % 3);
        const tx: L2Tx = { type: "transfer", from, to: 1 + ((i + s + 1) % 3), token: 0, amount: 1000n, fee: 10n, nonce: nonces[from]++, validUntil: VU, signature: zero };
        txs.push({ ...tx, signature: signMessage(keys[from], txMessage(tx, { chainId: anvil.chainId, rollup: dep.rollup })) });
      }
      const fills: FillOp[] = Array.from({ length: p.fillSlots }, () => ({ type: "fill" as const, sell, buy, baseAmount: 10n ** 14n, quoteAmount: 10n ** 8n, sellFee: 0n, buyFee: 0n }));
      await submit(i === 0 ? 2 : 1, txs, fills);
    }
    log({ msg: "bench.audit.run" });
    const run = await runAudit({ rpcUrl: anvil.rpcUrl, rollup: dep.rollup, verifyProofs: false, checkVerifier: false });
    const r = run.report;
    if (r.mismatches.length) throw new Error(`bench history does not audit clean: ${JSON.stringify(r.mismatches[0])}`);
    const c = r.operations;
    operations = c.registrations + c.deposits + c.transfers + c.withdrawals + c.fills;
    batches = r.batches.count;
    chain = { seconds: r.seconds, batchesPerSec: r2(batches / r.seconds), opsPerSec: r2(operations / r.seconds), timingsMs: { ...r.timings } };
    const rs = r.timings.replayMs / 1000;
    replay = { seconds: r2(rs), batchesPerSec: r2(batches / rs), opsPerSec: r2(operations / rs) };
  } finally {
    await anvil.stop();
  }

  // Offline Groth16 verification of a real proof, as the audit does it (prover/verify.ts).
  const tp = CONFIGS.test;
  const circuit = await compileCircuit({ name: batchCircuitName(tp), mainSource: batchCircuitSource(tp), log: () => {} });
  const keys = await ensureKeys(circuit, { log: () => {} });
  const b = fullBatch(tp);
  log({ msg: "bench.audit.prove" });
  const { proof } = await snarkjs.groth16.fullProve(b.circuitInput, circuit.wasmPath, keys.zkeyPath);
  const verifier = await createProofVerifier(keys.vkeyPath);
  const input = b.publicSignals.map(String);
  if (await verifier.check(proof, input, input)) throw new Error("bench proof does not verify");
  const k = o.proofs ?? 10;
  const t = performance.now();
  for (let i = 0; i < k; i++) if (await verifier.check(proof, input, input)) throw new Error("bench proof does not verify");
  const ps = (performance.now() - t) / 1000;
  const result: AuditBench = {
    config: "default",
    batches,
    operations,
    chain,
    replay,
    proofs: { config: "test", verified: k, seconds: r2(ps), proofsPerSec: r2(k / ps) },
    note: "chain: auditChain over anvil (views, Enqueued/BatchFinalized/WithdrawalCredited events, each batch's transaction, replay with core), proofs not verified (the history's verifier accepts anything); replay: the replay share of that run; proofs: snarkjs groth16.verify of one real proof, repeated. An audit with proofs costs about batches / proofsPerSec more.",
  };
  log({ msg: "bench.audit", ...result });
  return result;
}
