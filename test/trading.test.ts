/**
 * Trading through the sequencer, without proofs: real anvil, real Rollup, real SQLite, real HTTP,
 * real WebSocket. Traders deposit on L1, sign orders, the engine matches them, fills go into
 * batches' fill slots; a model replays every batch with core from what the API shows (the fills'
 * bodies come from GET /v1/txs/:hash) and checks roots and public inputs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { startAnvil, type AnvilInstance } from "../chain/anvil";
import type { ModexDeployment } from "../contracts/deploy";
import {
  cancelMessage, CONFIGS, fieldToHex, generatePrivateKey, initCrypto, publicKeyOf, signMessage, txMessage, type Order,
} from "../core";
import { BatchModel, OrderSigner, registerTrader, type Trader } from "./helpers/trading";
import { MAX_U32 } from "../core/field";
import { createApiClient, type ModexApiClient } from "../cli/api-client";
import type { RunningApi } from "../sequencer/api";
import type { Sequencer } from "../sequencer/sequencer";
import type { BatchInfo } from "../sequencer/views";
import { orderToWire, txToWire } from "../sequencer/wire";
import type { Domain } from "../core/domain";
import { deployAccepting, openUnprovenNode, type UnprovenNode } from "./helpers/devchain";

const P = CONFIGS.test;
const ETHER = 10n ** 18n;
const USDC = 10n ** 6n;
const MARKET = { id: "ETH-USDC", base: 0, quote: 1, makerFeeBips: 10, takerFeeBips: 20 };

let anvil: AnvilInstance;
let tmp: string;


beforeAll(async () => {
  await initCrypto();
  anvil = await startAnvil({ port: 0 });
  tmp = mkdtempSync(join(tmpdir(), "modex-trading-test-"));
});

afterAll(async () => {
  await anvil?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("trading through the sequencer (no proofs)", () => {
  const opPriv = generatePrivateKey();
  let dep: ModexDeployment;
  let node: UnprovenNode;
  let seq: Sequencer;
  let api: RunningApi;
  let client: ModexApiClient;
  let model: BatchModel;
  let alice: Trader;
  let bob: Trader;
  let domain: Domain;
  let signer: OrderSigner;
  const db = () => join(tmp, "trading.sqlite");

  async function open(): Promise<void> {
    node = await openUnprovenNode({ rpcUrl: anvil.rpcUrl, dep, params: P, db: db(), markets: [MARKET] });
    ({ seq, api, client } = node);
    if (model) model.client = client;
  }

  const close = (): Promise<void> => node.close();

  async function user(i: number, token: number, amount: bigint): Promise<Trader> {
    const { trader, record } = await registerTrader(anvil.rpcUrl, anvil.chainId, dep, i, token, amount);
    model.queue.push(record);
    return trader;
  }

  const order = (u: Trader, side: "buy" | "sell", amount: bigint, quoteAmount: bigint, o: Partial<Order> = {}): Order => signer.order(u, MARKET, side, amount, quoteAmount, o);

  async function post(path: string, body: unknown, method = "POST"): Promise<{ status: number; json: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await fetch(api.url + path, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: r.status, json: await r.json() };
  }

  /** Cuts every batch that is due and checks each against the model. */
  const cutAll = (): Promise<BatchInfo[]> => node.cutAll((b) => model.check(b));

  beforeAll(async () => {
    dep = await deployAccepting(anvil.rpcUrl, P, publicKeyOf(opPriv));
    domain = { chainId: dep.chainId, rollup: dep.rollup };
    signer = new OrderSigner(domain);
    await open();
    model = new BatchModel(P, client, domain);
    model.queue.push({ kind: 2, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(opPriv) });
    alice = await user(1, 0, 10n * ETHER);
    bob = await user(2, 1, 100_000n * USDC);
    await cutAll();
    expect((await client.status()).queue).toEqual({ length: 3, consumed: 3 });
  });

  afterAll(async () => {
    await close().catch(() => undefined);
  });

  test("markets and an empty book", async () => {
    expect(await client.markets()).toEqual({ markets: [MARKET], expiryMarginS: 120 });
    expect(await client.book("ETH-USDC")).toEqual({ market: "ETH-USDC", bids: [], asks: [] });
    const unknown = await fetch(`${api.url}/v1/markets/NOPE-X/book`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: "not_found", message: expect.any(String) } });
  });

  test("a resting sell, a crossing buy: filled at the maker's price, fees within the signed caps, batched and replayed", async () => {
    const events: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    const ws = new WebSocket(api.streamUrl);
    await new Promise((r) => ws.once("open", r));
    ws.on("message", (m) => events.push(JSON.parse(String(m))));
    ws.send(JSON.stringify({ op: "subscribe", channels: ["trades:ETH-USDC", `orders:${bob.id}`] }));
    await new Promise<void>((r) => ws.once("message", () => r()));

    // alice sells 1 ETH at 2000 USDC; bob buys 0.4 ETH paying up to 2100.
    const sell = order(alice, "sell", ETHER, 2000n * USDC);
    const s = await post("/v1/orders", orderToWire(sell));
    expect(s.status).toBe(201);
    expect(s.json).toMatchObject({ status: "open", filled: "0", remaining: ETHER.toString(), fills: [] });
    expect((await client.book("ETH-USDC")).asks).toEqual([expect.objectContaining({ price: "0.000000002", amount: ETHER.toString(), orders: 1 })]);

    const buy = order(bob, "buy", (4n * ETHER) / 10n, 840n * USDC);
    const b = await post("/v1/orders", { ...orderToWire(buy), timeInForce: "ioc" });
    expect(b.status).toBe(201);
    expect(b.json).toMatchObject({ status: "filled", filled: ((4n * ETHER) / 10n).toString(), remaining: "0" });
    expect(b.json.fills).toHaveLength(1);
    const fill = await client.tx(b.json.fills[0]);
    // Maker price: 0.4 ETH × 2000 = 800 USDC; maker fee 10 bips of 800 USDC, taker fee 20 bips of 0.4 ETH.
    expect(fill).toMatchObject({ type: "fill", status: "accepted", baseAmount: ((4n * ETHER) / 10n).toString(), quoteAmount: (800n * USDC).toString(), sellFee: "800000", buyFee: (8n * 10n ** 14n).toString() });

    const a = await client.account(alice.id);
    expect(a.pendingBalances).toEqual({ "0": (10n * ETHER - (4n * ETHER) / 10n).toString(), "1": (800n * USDC - 800_000n).toString() });
    const sellInfo = await client.order(s.json.hash);
    expect(sellInfo).toMatchObject({ status: "partially_filled", filled: ((4n * ETHER) / 10n).toString(), fills: [expect.objectContaining({ role: "maker", fee: "800000", status: "accepted" })] });

    const [batch] = await cutAll();
    expect(batch.txs).toEqual([b.json.fills[0]]);
    expect(await client.tx(b.json.fills[0])).toMatchObject({ status: "batched", batch: batch.number, slot: P.l2Slots });
    expect((await client.account(0)).balances).toEqual({ "0": (8n * 10n ** 14n).toString(), "1": "800000" });
    expect((await client.trades("ETH-USDC")).trades).toEqual([expect.objectContaining({ price: "0.000000002", takerSide: "buy", status: "batched", batch: batch.number })]);

    await new Promise((r) => setTimeout(r, 100));
    ws.close();
    expect(events.filter((e) => e.type === "trade")).toHaveLength(1);
    expect(events.filter((e) => e.type === "order" && e.hash === b.json.hash).map((e) => e.status)).toContain("filled");
    expect(events.filter((e) => e.type === "fill_status").map((e) => e.status)).toEqual(["batched"]);
  });

  test("open orders reserve funds: a transfer cannot spend them; post-only that would cross is refused", async () => {
    // alice has 9.6 ETH, 0.6 of it reserved by her open sell.
    const transfer = { type: "transfer" as const, from: alice.id, to: bob.id, token: 0, amount: 9_500_000_000_000_000_000n, fee: 0n, nonce: 0n, validUntil: Number(MAX_U32) };
    const signed = { ...transfer, signature: signMessage(alice.priv, txMessage({ ...transfer, signature: { r8x: 0n, r8y: 0n, s: 0n } }, domain)) };
    const r = await post("/v1/txs", txToWire(signed));
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe("insufficient_balance");

    const cross = order(bob, "buy", ETHER / 10n, 300n * USDC);
    const p = await post("/v1/orders", { ...orderToWire(cross), timeInForce: "post_only" });
    expect(p.status).toBe(422);
    expect(p.json.error.code).toBe("would_take");
  });

  test("bad orders get 4xx JSON errors and change nothing", async () => {
    const before = await client.book("ETH-USDC");
    const good = orderToWire(order(bob, "buy", ETHER / 10n, 100n * USDC));
    const cases: [string, unknown, number, string][] = [
      ["not an object", [1], 400, "bad_request"],
      ["unknown field", { ...good, extra: 1 }, 400, "bad_request"],
      ["bad side", { ...good, side: "hold" }, 400, "bad_request"],
      ["zero amount", { ...good, amount: "0" }, 400, "amount_out_of_range"],
      ["amount not float40", { ...good, amount: "123456789012345678901" }, 400, "amount_not_representable"],
      ["unknown market", { ...good, quote: 2 }, 400, "unknown_market"],
      ["bad time in force", { ...good, timeInForce: "fok" }, 400, "bad_request"],
      ["forged signature", { ...good, signature: orderToWire(order(alice, "buy", ETHER / 10n, 100n * USDC)).signature }, 422, "bad_signature"],
      ["fee cap over 100%", { ...good, maxFeeBips: 10_001 }, 400, "bad_request"],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await post("/v1/orders", body);
      expect({ name, status: r.status, code: r.json.error?.code }).toEqual({ name, status, code });
    }
    const dup = order(bob, "buy", ETHER / 100n, 10n * USDC);
    expect((await post("/v1/orders", orderToWire(dup))).status).toBe(201);
    expect((await post("/v1/orders", orderToWire(dup))).status).toBe(409);
    // The same order twice at once: both may pass the first look while their signatures are checked; the
    // synchronous step refuses the second.
    // (Its own signer and an order id on a free slot: the main signer's id sequence stays as the later tests expect.)
    const busy = new Set((await client.accountOrders(bob.id)).orders.filter((o) => o.status === "open" || o.status === "partially_filled").map((o) => BigInt(o.orderId) % 4n));
    let raceId = 1000n;
    while (busy.has(raceId % 4n)) raceId++;
    const race = orderToWire(new OrderSigner(domain).order(bob, MARKET, "buy", ETHER / 100n, 1n * USDC, { orderId: raceId }));
    // Called in one tick, both pass the first look before either reaches the synchronous step.
    const [first, second] = await Promise.allSettled([seq.submitOrder(race), seq.submitOrder(race)]);
    expect(first).toMatchObject({ status: "fulfilled", value: { status: "open" } });
    expect(second).toMatchObject({ status: "rejected", reason: { status: 409, code: "duplicate" } });
    expect((await post("/v1/orders", race)).status).toBe(409);
    const cancel = signMessage(bob.priv, cancelMessage(bob.id, BigInt(race.orderId), domain)); // frees its order slot again
    const cancelled = await post(`/v1/orders/${(first as PromiseFulfilledResult<{ hash: string }>).value.hash}`, { signature: { r8x: cancel.r8x.toString(), r8y: cancel.r8y.toString(), s: cancel.s.toString() } }, "DELETE");
    expect(cancelled.json).toMatchObject({ status: "cancelled" });
    const res = await post(`/v1/orders/0x${"00".repeat(32)}`, { signature: good.signature }, "DELETE");
    expect(res.status).toBe(404);
    expect((await client.book("ETH-USDC")).asks).toEqual(before.asks);
  });

  test("cancel: needs the owner's signature; releases the reservation", async () => {
    const open = (await client.accountOrders(alice.id)).orders.find((o) => o.status === "partially_filled")!;
    const wrong = signMessage(bob.priv, cancelMessage(alice.id, BigInt(open.orderId), domain));
    const sig = (s: typeof wrong) => ({ r8x: s.r8x.toString(), r8y: s.r8y.toString(), s: s.s.toString() });
    const bad = await post(`/v1/orders/${open.hash}`, { signature: sig(wrong) }, "DELETE");
    expect(bad.status).toBe(422);
    const ok = await post(`/v1/orders/${open.hash}`, { signature: sig(signMessage(alice.priv, cancelMessage(alice.id, BigInt(open.orderId), domain))) }, "DELETE");
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ status: "cancelled", reason: "user_cancel" });
    expect((await client.book("ETH-USDC")).asks).toEqual([]);
    const again = await post(`/v1/orders/${open.hash}`, { signature: sig(signMessage(alice.priv, cancelMessage(alice.id, BigInt(open.orderId), domain))) }, "DELETE");
    expect(again.status).toBe(409);
  });

  test("partial fills over more than one batch, then a restart: the book and the fills survive", async () => {
    const sell = order(alice, "sell", 2n * ETHER, 3000n * USDC); // 1500 per ETH
    expect((await post("/v1/orders", orderToWire(sell))).status).toBe(201);
    const b1 = await post("/v1/orders", orderToWire(order(bob, "buy", ETHER / 2n, 800n * USDC)));
    expect(b1.json.status).toBe("filled");
    await cutAll();
    const b2 = await post("/v1/orders", orderToWire(order(bob, "buy", ETHER / 2n, 800n * USDC)));
    expect(b2.json.status).toBe("filled");
    const sellHash = (await client.accountOrders(alice.id)).orders[0].hash;

    await close();
    await open();
    model.client = client;
    const info = await client.order(sellHash);
    expect(info).toMatchObject({ status: "partially_filled", filled: ETHER.toString() });
    expect(info.fills.map((f) => f.status)).toEqual(["batched", "accepted"]);
    expect((await client.book("ETH-USDC")).asks).toEqual([expect.objectContaining({ amount: ETHER.toString() })]);
    const batches = await cutAll();
    expect(batches).toHaveLength(1);
    expect(await client.tx(b2.json.fills[0])).toMatchObject({ status: "batched" });
    // The restored order still matches.
    const b3 = await post("/v1/orders", orderToWire(order(bob, "buy", ETHER, 1600n * USDC)));
    expect(b3.json).toMatchObject({ status: "filled" });
    expect(await client.order(sellHash)).toMatchObject({ status: "filled", remaining: "0" });
    await cutAll();
    expect((await client.status()).stateRoot).toBe(fieldToHex(model.state.root));
  });
});
