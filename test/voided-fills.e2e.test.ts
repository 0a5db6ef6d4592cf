/**
 * Voided fills through the sequencer (PROTOCOL.md §4.7), without proofs: real anvil, Rollup, SQLite
 * and HTTP. A taker's order expires while its fill waits for a batch; the cut rejects the fill, and
 * the maker's order, which the fill had completed, takes its amount back: it rests again, trades
 * with the next buyer, and is still in the book after a restart.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, createTestClient, http } from "viem";
import { startAnvil, type AnvilInstance } from "../chain/anvil";
import type { ModexDeployment } from "../contracts/deploy";
import { CONFIGS, generatePrivateKey, initCrypto, publicKeyOf, type Order } from "../core";
import type { ModexApiClient } from "../cli/api-client";
import type { RunningApi } from "../sequencer/api";
import type { Sequencer } from "../sequencer/sequencer";
import type { BatchInfo } from "../sequencer/views";
import { orderToWire } from "../sequencer/wire";
import { BatchModel, OrderSigner, registerTrader, type Trader } from "./helpers/trading";
import { deployAccepting, openUnprovenNode, type UnprovenNode } from "./helpers/devchain";

const P = CONFIGS.test;
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
const opPriv = generatePrivateKey();

async function open(): Promise<void> {
  node = await openUnprovenNode({ rpcUrl: anvil.rpcUrl, dep, params: P, db: join(tmp, "voided.sqlite"), markets: [MARKET] });
  ({ seq, api, client } = node);
  model.client = client;
}

const close = (): Promise<void> => node.close();
const cutAll = (): Promise<BatchInfo[]> => node.cutAll((b) => model.check(b));

async function place(o: Order, timeInForce = "gtc"): Promise<{ hash: `0x${string}`; status: string; fills: `0x${string}`[] }> {
  const r = await fetch(`${api.url}/v1/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...orderToWire(o), timeInForce }) });
  const json = await r.json();
  if (r.status !== 201) throw new Error(`order refused: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

beforeAll(async () => {
  await initCrypto();
  anvil = await startAnvil({ port: 0 });
  tmp = mkdtempSync(join(tmpdir(), "modex-voided-test-"));
  dep = await deployAccepting(anvil.rpcUrl, P, publicKeyOf(opPriv));
  const domain = { chainId: dep.chainId, rollup: dep.rollup };
  signer = new OrderSigner(domain);
  model = new BatchModel(P, undefined as unknown as ModexApiClient, domain);
  await open();
  model.queue.push({ kind: 2, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(opPriv) });
  for (const [i, token, amount] of [[1, 0, 10n * ETHER], [2, 1, 100_000n * USDC], [3, 1, 100_000n * USDC]] as const) {
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

test("a fill whose taker expired before its batch is voided: the taker's order ends expired, the maker's rests again and trades on, across a restart", async () => {
  const sell = await place(signer.order(alice, MARKET, "sell", ETHER, 2000n * USDC));
  // bob's buy is valid just past the acceptance margin: it matches now, but expires before the next cut
  const margin = (await client.markets()).expiryMarginS;
  const block = await createPublicClient({ transport: http(anvil.rpcUrl) }).getBlock();
  const now = Math.max(Math.floor(Date.now() / 1000), Number(block.timestamp));
  const buy = await place(signer.order(bob, MARKET, "buy", ETHER, 2000n * USDC, { validUntil: now + margin + 60 }));
  expect(buy.status).toBe("filled");
  expect(buy.fills).toHaveLength(1);
  const [fill] = buy.fills;
  expect(await client.order(sell.hash)).toMatchObject({ status: "filled", filled: ETHER.toString() });
  expect((await client.book("ETH-USDC")).asks).toEqual([]);

  const test = createTestClient({ mode: "anvil", transport: http(anvil.rpcUrl) });
  await test.increaseTime({ seconds: 3600 });
  await test.mine({ blocks: 1 });
  expect(await cutAll()).toEqual([]);

  expect(await client.tx(fill)).toMatchObject({ status: "rejected", reason: { code: "expired" } });
  expect(await client.order(buy.hash)).toMatchObject({ status: "expired", filled: "0", remaining: ETHER.toString() });
  expect(await client.order(sell.hash)).toMatchObject({ status: "open", filled: "0", remaining: ETHER.toString() });
  expect((await client.book("ETH-USDC")).asks).toEqual([expect.objectContaining({ amount: ETHER.toString(), orders: 1 })]);
  // the pending view no longer holds the fill: alice has her ETH, bob his USDC
  expect((await client.account(alice.id)).pendingBalances).toEqual({ "0": (10n * ETHER).toString() });
  expect((await client.account(bob.id)).pendingBalances).toEqual({ "1": (100_000n * USDC).toString() });

  // the maker's order trades on: carol takes half, batched and replayed by the model
  const half = await place(signer.order(carol, MARKET, "buy", ETHER / 2n, 1000n * USDC), "ioc");
  expect(half.status).toBe("filled");
  const [batch] = await cutAll();
  expect(batch.txs).toEqual(half.fills);
  expect(await client.order(sell.hash)).toMatchObject({ status: "partially_filled", filled: (ETHER / 2n).toString() });

  // what the void changed is durable: after a restart the order rests with its remainder
  await close();
  await open();
  expect(await client.order(sell.hash)).toMatchObject({ status: "partially_filled", filled: (ETHER / 2n).toString() });
  expect((await client.book("ETH-USDC")).asks).toEqual([expect.objectContaining({ amount: (ETHER / 2n).toString(), orders: 1 })]);
  expect(await client.order(buy.hash)).toMatchObject({ status: "expired", filled: "0" });
});
