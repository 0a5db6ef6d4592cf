/**
 * Trading end to end with real proofs on anvil: two traders deposit, place crossing orders, get
 * partial fills over more than one batch, cancel the rest and withdraw. Every fill ends in a batch
 * finalized on L1 whose root equals core's (a model replays each batch from what the API shows),
 * and balances add up to deposits minus withdrawals exactly, token by token.
 *
 * Keys: the test circuit's development keys (compileCircuit + ensureKeys, cached under build/ and .modex/keys).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ANVIL_DEV_PRIVATE_KEYS, startAnvil, type AnvilInstance } from "../chain/anvil";
import { batchCircuitName, batchCircuitSource } from "../circuits/batch";
import { compileCircuit } from "../circuits/compile";
import { rollupAbi, testTokenAbi } from "../contracts/abi";
import { checkInvariants } from "./helpers/invariants";
import { deployModex, type ModexDeployment } from "../contracts/deploy";
import { cancelMessage, CONFIGS, fieldToHex, generatePrivateKey, initCrypto, publicKeyOf, signMessage, State, txMessage, type WithdrawTx } from "../core";
import { MAX_U32 } from "../core/field";
import { createApiClient, type ModexApiClient } from "../cli/api-client";
import { ensureKeys, releaseSnarkjsCurve } from "../prover/keys";
import { createProverPool, type ProverPool } from "../prover/pool";
import { serve, type RunningApi } from "../sequencer/api";
import { silentLogger } from "../sequencer/log";
import { createSequencer, type Sequencer } from "../sequencer/sequencer";
import { orderToWire, txToWire } from "../sequencer/wire";
import { BatchModel, mined, OrderSigner, registerTrader, type Trader } from "./helpers/trading";

const P = CONFIGS.test;
const ETHER = 10n ** 18n;
const USDC = 10n ** 6n;
const MARKET = { id: "ETH-USDC", base: 0, quote: 1, makerFeeBips: 10, takerFeeBips: 20 };

let anvil: AnvilInstance;
let tmp: string;
let dep: ModexDeployment;
let pool: ProverPool;
let seq: Sequencer;
let api: RunningApi;
let client: ModexApiClient;

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 480_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  await initCrypto();
  tmp = mkdtempSync(join(tmpdir(), "modex-trading-e2e-"));
  const circuit = await compileCircuit({ name: batchCircuitName(P), mainSource: batchCircuitSource(P), log: silentLogger });
  const keys = await ensureKeys(circuit, { log: silentLogger });
  anvil = await startAnvil({ port: 0 });
  dep = await deployModex({ rpcUrl: anvil.rpcUrl, verifierSource: keys.verifierPath, params: P, genesisRoot: new State(P).root, operatorKey: publicKeyOf(generatePrivateKey()) });
  pool = createProverPool({ artifacts: { circuitHash: circuit.circuitHash, wasmPath: circuit.wasmPath, zkeyPath: keys.zkeyPath, vkeyPath: keys.vkeyPath }, log: silentLogger });
  seq = await createSequencer({
    params: P,
    db: join(tmp, "trading-e2e.sqlite"),
    l1: { rpcUrl: anvil.rpcUrl, rollup: dep.rollup, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], fromBlock: dep.deployBlock, pollIntervalMs: 200 },
    prover: pool,
    markets: [MARKET],
    batchTimeoutMs: 300,
    log: silentLogger,
  });
  api = await serve(seq, 0, { log: silentLogger });
  client = createApiClient({ baseUrl: api.url });
  await seq.start();
});

afterAll(async () => {
  await api?.close();
  await seq?.stop();
  await pool?.close();
  await anvil?.stop();
  await releaseSnarkjsCurve();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("deposit, trade with partial fills over two batches, cancel, withdraw: every fill finalized, roots equal core's, balances add up", async () => {
  const domain = { chainId: dep.chainId, rollup: dep.rollup };
  const operatorRecord = { kind: 2 as const, accountId: 0, token: 0, amount: 0n, ...(await seqOperatorKey()) };
  const model = new BatchModel(P, client, domain);
  model.queue.push(operatorRecord);
  const signer = new OrderSigner(domain);
  const a = await registerTrader(anvil.rpcUrl, anvil.chainId, dep, 1, 0, 2n * ETHER);
  const b = await registerTrader(anvil.rpcUrl, anvil.chainId, dep, 2, 1, 5_000n * USDC);
  model.queue.push(a.record, b.record);
  const alice: Trader = a.trader;
  const bob: Trader = b.trader;
  await until("registrations batched", async () => (await client.status()).queue.consumed === 3, 60_000);

  // alice sells 1 ETH at 2000 USDC; bob takes 0.3 ETH, then (in a later batch) 0.2 ETH.
  const sell = await client.submitOrder(orderToWire(signer.order(alice, MARKET, "sell", ETHER, 2000n * USDC)));
  expect(sell.status).toBe("open");
  const take1 = await client.submitOrder(orderToWire(signer.order(bob, MARKET, "buy", (3n * ETHER) / 10n, 600n * USDC)));
  expect(take1).toMatchObject({ status: "filled", fills: [expect.any(String)] });
  await until("first fill batched", async () => (await client.tx(take1.fills[0])).batch !== undefined, 60_000);
  const take2 = await client.submitOrder(orderToWire(signer.order(bob, MARKET, "buy", (2n * ETHER) / 10n, 400n * USDC)));
  expect(take2).toMatchObject({ status: "filled", fills: [expect.any(String)] });
  expect(await client.order(sell.hash)).toMatchObject({ status: "partially_filled", filled: (5n * ETHER / 10n).toString() });

  // alice cancels the rest; then both withdraw what they received.
  const open = await client.order(sell.hash);
  const cs = signMessage(alice.priv, cancelMessage(alice.id, BigInt(open.orderId), domain));
  expect(await client.cancelOrder(sell.hash, { r8x: cs.r8x.toString(), r8y: cs.r8y.toString(), s: cs.s.toString() })).toMatchObject({ status: "cancelled" });
  const fills = await Promise.all([take1.fills[0], take2.fills[0]].map((h) => client.tx(h)));
  const got = (f: (typeof fills)[number], k: "quote" | "base") => (f.type !== "fill" ? 0n : k === "quote" ? BigInt(f.quoteAmount) - BigInt(f.sellFee) : BigInt(f.baseAmount) - BigInt(f.buyFee));
  const aliceUsdc = fills.reduce((s, f) => s + got(f, "quote"), 0n);
  const bobEth = fills.reduce((s, f) => s + got(f, "base"), 0n);
  const withdraw = (u: Trader, token: number, amount: bigint): WithdrawTx => {
    const body = { type: "withdraw" as const, account: u.id, token, amount, fee: 0n, nonce: 0n, validUntil: Number(MAX_U32) };
    return { ...body, signature: signMessage(u.priv, txMessage({ ...body, signature: { r8x: 0n, r8y: 0n, s: 0n } }, domain)) };
  };
  // Both amounts must be float40 values: 999.5 USDC and 0.499 ETH are.
  const w1 = await client.submitTx(txToWire(withdraw(alice, 1, aliceUsdc)));
  const w2 = await client.submitTx(txToWire(withdraw(bob, 0, bobEth)));

  const hashes = [...fills.map((f) => f.hash), w1.hash, w2.hash];
  await until("all finalized", async () => {
    const txs = await Promise.all(hashes.map((h) => client.tx(h)));
    const bad = txs.find((t) => t.status === "rejected");
    if (bad) throw new Error(`${bad.hash} rejected: ${JSON.stringify(bad.reason)}`);
    return txs.every((t) => t.status === "finalized");
  });
  const fillBatches = (await Promise.all(fills.map((f) => client.tx(f.hash)))).map((t) => t.batch);
  expect(new Set(fillBatches).size).toBe(2); // partial fills over two batches

  // Every batch replays with core to the root L1 finalized.
  const s = await client.status();
  for (let n = 1; n <= s.finalizedBatch; n++) await model.check(await client.batch(n));
  const l1Root = await alice.l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: "stateRoot" });
  expect(fieldToHex(l1Root)).toBe(fieldToHex(model.state.root));
  expect(s.finalizedRoot).toBe(fieldToHex(model.state.root));
  expect(await client.order(sell.hash)).toMatchObject({ status: "cancelled", fills: [expect.objectContaining({ status: "finalized" }), expect.objectContaining({ status: "finalized" })] });

  // Balances add up, token by token: deposits = L2 balances (incl. the fee account) + withdrawals.
  const deposited = { 0: 2n * ETHER, 1: 5_000n * USDC };
  const withdrawn = { 0: bobEth, 1: aliceUsdc };
  for (const token of [0, 1] as const) {
    let onL2 = 0n;
    for (const id of [0, alice.id, bob.id]) onL2 += BigInt((await client.account(id)).balances[String(token)] ?? "0");
    expect(onL2 + withdrawn[token]).toBe(deposited[token]);
  }
  // The withdrawals are paid on L1.
  await mined(alice.l1, await alice.l1.walletClient.writeContract({ address: dep.rollup, abi: rollupAbi, functionName: "claim", args: [alice.l1.account.address, 1] }));
  const usdc = dep.tokens[0].address;
  expect(await alice.l1.publicClient.readContract({ address: usdc, abi: testTokenAbi, functionName: "balanceOf", args: [alice.l1.account.address] })).toBe(aliceUsdc);
  expect(await bob.l1.publicClient.readContract({ address: dep.rollup, abi: rollupAbi, functionName: "pendingWithdrawal", args: [bob.l1.account.address, 0] })).toBe(bobEth);
  // After every batch: the contract holds exactly what it owes, and every credit went to its account's owner.
  expect(await checkInvariants({ rpcUrl: anvil.rpcUrl, rollup: dep.rollup })).toMatchObject({ violations: [] });
});

/** The operator key the deployment registered as account 0 (read back from the chain's Enqueued event). */
async function seqOperatorKey(): Promise<{ ax: bigint; ay: bigint }> {
  const c = await import("../contracts/clients");
  const l1 = await c.connectL1({ rpcUrl: anvil.rpcUrl, privateKey: ANVIL_DEV_PRIVATE_KEYS[0], chainId: anvil.chainId });
  const logs = await l1.publicClient.getContractEvents({ address: dep.rollup, abi: rollupAbi, eventName: "Enqueued", fromBlock: dep.deployBlock, strict: true });
  const first = logs.find((l) => l.args.index === 0n)!;
  return { ax: first.args.ax, ay: first.args.ay };
}
