/**
 * The Rollup contract with the real batch circuit, real development keys and real proofs on anvil:
 * a valid batch finalizes; a replayed batch, a proof of another batch and tampered public data are refused.
 */
import * as snarkjs from "snarkjs";
import { toHex } from "viem";
import { CONFIGS, State, initCrypto, generatePrivateKey, publicKeyOf, buildBatch, QUEUE_REGISTER, withdrawBitmap, type BatchResult } from "../core";
import { startAnvil, ANVIL_DEV_PRIVATE_KEYS, type AnvilInstance } from "../chain/anvil";
import { deployModex, type ModexDeployment } from "../contracts/deploy";
import { connectL1, type L1Clients } from "../contracts/clients";
import { rollupAbi } from "../contracts/abi";
import { proofToSolidity } from "../contracts/proof";
import { releaseSnarkjsCurve } from "../prover/keys";
import { testCircuitKeys } from "./helpers/keys";

const P = CONFIGS.test;
let anvil: AnvilInstance;
let dep: ModexDeployment;
let l1: L1Clients;
const state = new State(P);
const operatorKey = generatePrivateKey();

beforeAll(async () => {
  await initCrypto();
  anvil = await startAnvil({ port: 0 });
  const { keys } = await testCircuitKeys();
  dep = await deployModex({ rpcUrl: anvil.rpcUrl, verifierSource: keys.verifierPath, params: P, genesisRoot: state.root, operatorKey: publicKeyOf(operatorKey) });
  l1 = await connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], chainId: anvil.chainId });
});

afterAll(async () => {
  await anvil?.stop();
  await releaseSnarkjsCurve();
});

async function prove(b: BatchResult) {
  const { circuit, keys } = await testCircuitKeys();
  const { proof } = await snarkjs.groth16.fullProve(b.circuitInput, circuit.wasmPath, keys.zkeyPath);
  return proofToSolidity(proof);
}

function submit(b: BatchResult, proof: readonly bigint[], chunks: Uint8Array = b.slotData) {
  return l1.walletClient.writeContract({
    address: dep.rollup, abi: rollupAbi, functionName: "submitBatch", chain: l1.chain, account: l1.account,
    args: [b.newRoot, b.timestamp, b.depositCount, toHex(Uint8Array.from(b.feeTokens)), toHex(withdrawBitmap(b.chunks)), toHex(chunks), toHex(b.forcedExitData), proof as never],
  });
}

const root = (n: bigint) => l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: "batchRoots", args: [n] });

test("a valid batch finalizes; replays, foreign proofs and tampered pubdata are refused", async () => {
  const block = await l1.publicClient.getBlock();
  // Batch 1 consumes queue record 0: the operator's registration by the constructor.
  const b1 = buildBatch(state, {
    chainId: anvil.chainId, rollup: dep.rollup, timestamp: Number(block.timestamp), queueHashBefore: 0n, txs: [],
    deposits: [{ kind: QUEUE_REGISTER, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(operatorKey) }],
  });
  const proof1 = await prove(b1);

  // Tampered public data: a chunk byte flipped.
  const tampered = Uint8Array.from(b1.slotData);
  tampered[20] ^= 1;
  await expect(submit(b1, proof1, tampered)).rejects.toThrow(/InvalidProof/);
  // A wrong proof.
  await expect(submit(b1, [...proof1.slice(0, 7), proof1[7] ^ 1n])).rejects.toThrow();

  const rc = await l1.publicClient.waitForTransactionReceipt({ hash: await submit(b1, proof1) });
  expect(rc.status).toBe("success");
  expect(await root(1n)).toBe(b1.newRoot);

  // Replaying batch 1: the old root is now b1.newRoot and the queue moved on.
  await expect(submit(b1, proof1)).rejects.toThrow(/DepositsNotQueued|InvalidProof/);

  // Batch 2 (empty) proven against the new root finalizes; its proof is useless for anything else.
  const b2 = buildBatch(state, { chainId: anvil.chainId, rollup: dep.rollup, timestamp: Number(block.timestamp), queueHashBefore: b1.queueHashAfter, txs: [], deposits: [] });
  const proof2 = await prove(b2);
  await expect(submit({ ...b2, newRoot: b2.newRoot + 1n }, proof2)).rejects.toThrow(/InvalidProof/);
  await l1.publicClient.waitForTransactionReceipt({ hash: await submit(b2, proof2) });
  expect(await root(2n)).toBe(b2.newRoot);
});
