/**
 * Batch shapes through the sequencer (PROTOCOL.md §5.5), without proofs: real anvil, a Rollup with one
 * (accepting) verifier per shape, SQLite and HTTP. The sequencer cuts the cheapest shape that holds
 * what is waiting: transfers alone go into the transfer shape, fills alone into the fill shape, a mix
 * into the shape with both; every batch replays with core in its shape, and a restart replays them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAnvil, type AnvilInstance } from "../chain/anvil";
import type { ModexDeployment } from "../contracts/deploy";
import { CONFIGS, fieldToHex, generatePrivateKey, initCrypto, publicKeyOf, shapeOf, signMessage, txMessage, type Order, type Params, type TransferTx } from "../core";
import { MAX_U32 } from "../core/field";
import type { ModexApiClient } from "../cli/api-client";
import type { RunningApi } from "../sequencer/api";
import type { Sequencer } from "../sequencer/sequencer";
import type { BatchInfo } from "../sequencer/views";
import { orderToWire, txToWire } from "../sequencer/wire";
import { BatchModel, OrderSigner, registerTrader, type Trader } from "./helpers/trading";
import { deployAccepting, openUnprovenNode, type UnprovenNode } from "./helpers/devchain";

/** The test trees with three shapes: the test config's own, fills only (plus an L1 slot), transfers only. */
const P: Params = {
  ...CONFIGS.test,
  shapes: [shapeOf(CONFIGS.test), { depositSlots: 1, l2Slots: 0, fillSlots: 2 }, { depositSlots: 0, l2Slots: 3, fillSlots: 0 }],
};
const ETHER = 10n ** 18n;
const USDC = 10n ** 6n;
const MARKET = { id: "ETH-USDC", base: 0, quote: 1, makerFeeBips: 10, takerFeeBips: 20 };

let anvil: AnvilInstance;
let tmp: string;
let dep: ModexDeployment;
let node: UnprovenNode;
let seq: Sequencer;
let api: RunningApi;
let client: ModexApiClient;
let model: BatchModel;
let signer: OrderSigner;
let alice: Trader;
let bob: Trader;
let carol: Trader;
const nonces = new Map<number, bigint>();
const opPriv = generatePrivateKey();

async function open(): Promise<void> {
  node = await openUnprovenNode({ rpcUrl: anvil.rpcUrl, dep, params: P, db: join(tmp, "shapes.sqlite"), markets: [MARKET] });
  ({ seq, api, client } = node);
  model.client = client;
}

const close = (): Promise<void> => node.close();
const cutAll = (): Promise<BatchInfo[]> => node.cutAll((b) => model.check(b));

async function post(path: string, body: unknown): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await fetch(`${api.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await r.json();
  if (r.status !== 201 && r.status !== 202) throw new Error(`${path} refused: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

async function transfer(from: Trader, to: Trader, token: number, amount: bigint): Promise<`0x${string}`> {
  const nonce = nonces.get(from.id) ?? 0n;
  nonces.set(from.id, nonce + 1n);
  const tx: TransferTx = { type: "transfer", from: from.id, to: to.id, token, amount, fee: 0n, nonce, validUntil: Number(MAX_U32), signature: { r8x: 0n, r8y: 0n, s: 0n } };
  const signed = { ...tx, signature: signMessage(from.priv, txMessage(tx, { chainId: dep.chainId, rollup: dep.rollup })) };
  return (await post("/v1/txs", txToWire(signed))).hash;
}

const order = (u: Trader, side: "buy" | "sell", amount: bigint, quoteAmount: bigint, o: Partial<Order> = {}): Order => signer.order(u, MARKET, side, amount, quoteAmount, o);

beforeAll(async () => {
  await initCrypto();
  anvil = await startAnvil({ port: 0 });
  tmp = mkdtempSync(join(tmpdir(), "modex-shapes-test-"));
  dep = await deployAccepting(anvil.rpcUrl, P, publicKeyOf(opPriv));
  const domain = { chainId: dep.chainId, rollup: dep.rollup };
  signer = new OrderSigner(domain);
  model = new BatchModel(P, undefined as unknown as ModexApiClient, domain);
  await open();
  model.queue.push({ kind: 2, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(opPriv) });
  for (const [i, token, amount] of [[1, 0, 10n * ETHER], [2, 1, 100_000n * USDC], [3, 0, ETHER]] as const) {
    const { trader, record } = await registerTrader(anvil.rpcUrl, anvil.chainId, dep, i, token, amount);
    model.queue.push(record);
    if (i === 1) alice = trader;
    else if (i === 2) bob = trader;
    else carol = trader;
  }
  await cutAll();
});

afterAll(async () => {
  await close().catch(() => undefined);
  await anvil?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("the chain lists the three shapes; queue records alone go into shapes with an L1 slot", async () => {
  expect(dep.verifiers.map((v) => v.shape)).toEqual(P.shapes);
  const batches = await Promise.all([1, 2, 3, 4].map((n) => client.batch(n)));
  expect(batches.every((b) => b.shape === "d1-n2-m1" || b.shape === "d1-n0-m2")).toBe(true);
  expect(batches.map((b) => b.depositCount)).toEqual([1, 1, 1, 1]);
});

test("transfers alone: the transfer shape, no fill or L1 slot proven", async () => {
  const a = await transfer(alice, carol, 0, 1000n);
  const b = await transfer(carol, alice, 0, 10n);
  const [batch] = await cutAll();
  expect(batch.shape).toBe("d0-n3-m0");
  expect(batch.txs).toEqual([a, b]);
});

test("fills alone: the fill shape carries two fills in one batch", async () => {
  await post("/v1/orders", orderToWire(order(alice, "sell", ETHER, 2000n * USDC)));
  const f1 = await post("/v1/orders", { ...orderToWire(order(bob, "buy", ETHER / 10n, 200n * USDC)), timeInForce: "ioc" });
  const f2 = await post("/v1/orders", { ...orderToWire(order(bob, "buy", ETHER / 10n, 200n * USDC)), timeInForce: "ioc" });
  const [batch, more] = await cutAll();
  expect(more).toBeUndefined();
  expect(batch.shape).toBe("d1-n0-m2");
  expect(batch.txs).toEqual([...f1.fills, ...f2.fills]);
});

test("a fill and a transfer: the shape with both slot types; a restart replays every shape", async () => {
  const fill = await post("/v1/orders", { ...orderToWire(order(bob, "buy", ETHER / 10n, 200n * USDC)), timeInForce: "ioc" });
  const t = await transfer(carol, alice, 0, 5n);
  const [batch] = await cutAll();
  expect(batch.shape).toBe("d1-n2-m1");
  expect(batch.txs).toEqual([t, ...fill.fills]);

  const root = (await client.status()).stateRoot;
  expect(root).toBe(fieldToHex(model.state.root));
  await close();
  await open();
  expect((await client.status()).stateRoot).toBe(root);
  expect((await client.batch(batch.number)).shape).toBe("d1-n2-m1");
});
