/**
 * npm run demo: the whole story against a running devnet (npm start), through the typed API client.
 *
 *   payments  alice and carol register on L1 with ETH, bob with USDC (minted from the TestToken);
 *             transfers on L2 in both tokens; carol withdraws.
 *   trading   alice rests a sell of 0.5 ETH at 2000 USDC on ETH-USDC; bob takes 0.2 ETH, and once
 *             that fill is in a batch, 0.1 ETH more (two partial fills in two batches); alice
 *             cancels the rest with a signed cancel; alice withdraws all her USDC, bob all his ETH.
 *   checks    every batch is shown as it is finalized, its root equal to the chain's batchRoots(n);
 *             no operation is rejected; balances add up exactly, token by token (deposits = L2
 *             balances incl. the fee account 0 + withdrawals); the order ends cancelled with two
 *             finalized fills; the withdrawals are claimed on L1 and move L1 balances exactly.
 *
 * Exits 0 only when all of that holds; otherwise prints `demo failed: <reason>` and exits 1.
 */
import { readFileSync, existsSync } from "node:fs";
import * as path from "node:path";
import { decodeEventLog, formatUnits, parseUnits, type Hex, type TransactionReceipt } from "viem";
import {
  initCrypto, generatePrivateKey, publicKeyOf, signMessage, txMessage, orderMessage, cancelMessage, fieldToHex,
  tryEncodeFloat, FLOAT16, FLOAT40, type Order, type OrderSide, type Signature, type TransferTx, type WithdrawTx,
} from "../core";
import { connectL1, type L1Clients } from "../contracts/clients";
import { rollupAbi, testTokenAbi } from "../contracts/abi";
import { orderToWire, txToWire } from "../sequencer/wire";
import {
  createApiClient, ApiError, type BookResponse, type MarketResponse, type ModexApiClient, type SignatureBody, type StatusResponse,
  type TradeResponse, type TxResponse,
} from "../cli/api-client";

const say = (s: string) => console.log(s);
const MARKET = "ETH-USDC";
const ETH = 0;
const WAIT_MS = 30 * 60_000;

interface DevnetInfo {
  api?: string;
  rpc: string;
  tokens: { id: number; symbol: string; decimals?: number; address?: Hex }[];
  devL1PrivateKeys: Hex[];
}

interface User {
  readonly name: string;
  readonly priv: string;
  readonly l1: L1Clients;
  id: number;
}

const sigBody = (s: Signature): SignatureBody => ({ r8x: s.r8x.toString(), r8y: s.r8y.toString(), s: s.s.toString() });
const NO_SIG: Signature = { r8x: 0n, r8y: 0n, s: 0n };

function float40(what: string, v: bigint): bigint {
  if (tryEncodeFloat(FLOAT40, v) === null) throw new Error(`${what}: ${v} is not a float40 value (choose other amounts)`);
  return v;
}

function float16(what: string, v: bigint): bigint {
  if (tryEncodeFloat(FLOAT16, v) === null) throw new Error(`${what}: ${v} is not a float16 value (choose other amounts)`);
  return v;
}

async function mined(u: User, what: string, hash: Hex): Promise<TransactionReceipt> {
  const rc = await u.l1.publicClient.waitForTransactionReceipt({ hash });
  if (rc.status !== "success") throw new Error(`L1: ${u.name}'s ${what} (${hash}) reverted`);
  return rc;
}

async function main(): Promise<void> {
  await initCrypto();
  const infoPath = path.join(__dirname, "..", ".modex", "devnet.json");
  if (!existsSync(infoPath)) throw new Error("no devnet found: start one with `npm start` first");
  const info = JSON.parse(readFileSync(infoPath, "utf8")) as DevnetInfo;
  // MODEX_API overrides the address the devnet wrote (so `PORT=9090 npm start` needs nothing here).
  const client: ModexApiClient = createApiClient({ baseUrl: process.env.MODEX_API ?? info.api ?? "http://127.0.0.1:8080" });
  const status0 = await client.status();
  const chainId = status0.chainId;
  const rollup = status0.rollupAddress;
  const domain = { chainId, rollup };
  if (status0.halted) throw new Error(`the sequencer is halted: ${status0.halted.reason}`);
  say(`devnet: chain ${chainId}, rollup ${rollup}, API ${client.baseUrl}, finalized batch ${status0.finalizedBatch}`);

  const market: MarketResponse | undefined = (await client.markets()).markets.find((m) => m.id === MARKET);
  if (!market) throw new Error(`the devnet has no ${MARKET} market`);
  const usdcInfo = info.tokens.find((t) => t.id === market.quote);
  if (market.base !== ETH || !usdcInfo?.address || usdcInfo.decimals === undefined) throw new Error(`${MARKET} is not ETH against an ERC-20 in .modex/devnet.json`);
  const USDC = market.quote;
  const usdcAddress = usdcInfo.address;
  const usdcDecimals = usdcInfo.decimals;
  const eth = (x: string) => parseUnits(x, 18);
  const usdc = (x: string) => parseUnits(x, usdcDecimals);
  const sym = (token: number) => (token === ETH ? "ETH" : usdcInfo.symbol);
  const fmt = (token: number, v: bigint) => `${formatUnits(v, token === ETH ? 18 : usdcDecimals)} ${sym(token)}`;
  /** Quote units per whole base unit, e.g. 2000 USDC per ETH, from a raw ratio quote/base. */
  const price = (num: bigint, den: bigint) => formatUnits((num * 10n ** 18n) / den, usdcDecimals);
  say(`market ${market.id}: maker ${market.makerFeeBips} bips, taker ${market.takerFeeBips} bips`);

  // Batches of this run: shown as they are finalized, each root checked against the chain's.
  const labels = new Map<string, string>(); // op hash -> what it is
  const startBatch = status0.finalizedBatch;
  let shownUpTo = startBatch;
  const reader = await connectL1({ rpcUrl: info.rpc, privateKey: info.devL1PrivateKeys[0], chainId });
  const poll = async (): Promise<StatusResponse> => {
    const st = await client.status();
    if (st.halted) throw new Error(`the sequencer halted: ${st.halted.reason}${st.halted.batch !== null ? ` (batch ${st.halted.batch})` : ""}`);
    for (let n = shownUpTo + 1; n <= st.finalizedBatch; n++) {
      const b = await client.batch(n);
      const onChain = await reader.publicClient.readContract({ address: rollup, abi: rollupAbi, functionName: "batchRoots", args: [BigInt(n)] });
      if (fieldToHex(onChain) !== b.newRoot) throw new Error(`batch ${n}: chain root ${fieldToHex(onChain)} != sequencer root ${b.newRoot}`);
      const ops = b.txs.map((h) => labels.get(h) ?? "other");
      say(`  batch ${n} final on L1: ${b.depositCount} L1 records, ${b.txs.length} L2 ops${ops.length ? ` [${ops.join("; ")}]` : ""}, root ${b.newRoot.slice(0, 18)}… = chain`);
      shownUpTo = n;
    }
    return st;
  };
  const until = async <T>(what: string, f: () => Promise<T | null | undefined | false>): Promise<T> => {
    const end = Date.now() + WAIT_MS;
    for (;;) {
      await poll();
      const v = await f();
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out after ${WAIT_MS / 60_000} min waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const notRejected = (t: TxResponse): TxResponse => {
    if (t.status === "rejected") throw new Error(`${labels.get(t.hash) ?? t.hash} was rejected: ${t.reason?.code}: ${t.reason?.message}`);
    return t;
  };

  // The ask side must not already hold a sell at or below our price (a leftover of an aborted run).
  const book0 = await client.book(MARKET);
  const stale = book0.asks.filter((l) => BigInt(l.priceNum) * 10n ** 18n <= 2000n * 10n ** BigInt(usdcDecimals) * BigInt(l.priceDen));
  if (stale.length) throw new Error(`${MARKET} already has asks at or below 2000 (${stale.map((l) => l.amount).join(", ")}): restart the devnet`);
  const fee0 = (await client.account(0)).balances;

  // ------------------------------------------------------------ 1. registrations on L1
  const users: User[] = await Promise.all(
    ["alice", "bob", "carol"].map(async (name, i) => ({
      name, priv: generatePrivateKey(), l1: await connectL1({ rpcUrl: info.rpc, privateKey: info.devL1PrivateKeys[i], chainId }), id: -1,
    })),
  );
  const [alice, bob, carol] = users;
  const deposited: Record<number, bigint> = { [ETH]: 0n, [USDC]: 0n };
  const register = async (u: User, token: number, amount: bigint) => {
    if (token !== ETH) {
      await mined(u, "mint", await u.l1.walletClient.writeContract({ address: usdcAddress, abi: testTokenAbi, functionName: "mint", args: [u.l1.account.address, amount] }));
      await mined(u, "approve", await u.l1.walletClient.writeContract({ address: usdcAddress, abi: testTokenAbi, functionName: "approve", args: [rollup, amount] }));
    }
    const pub = publicKeyOf(u.priv);
    const rc = await mined(u, "register", await u.l1.walletClient.writeContract({
      address: rollup, abi: rollupAbi, functionName: "register", args: [pub.ax, pub.ay, token, amount], value: token === ETH ? amount : 0n,
    }));
    for (const lg of rc.logs) {
      if (lg.address.toLowerCase() !== rollup.toLowerCase()) continue;
      try {
        const ev = decodeEventLog({ abi: rollupAbi, data: lg.data, topics: lg.topics });
        if (ev.eventName === "Enqueued") u.id = Number(ev.args.accountId);
      } catch { /* not one of the rollup's events */ }
    }
    if (u.id < 0) throw new Error(`${u.name}'s registration emitted no Enqueued event`);
    deposited[token] += amount;
    say(`${u.name}: ${token === ETH ? "" : `minted ${fmt(token, amount)} on L1, `}registered as account ${u.id} with ${fmt(token, amount)}`);
  };
  await register(alice, ETH, eth("1"));
  await register(bob, USDC, usdc("1000"));
  await register(carol, ETH, eth("1"));
  for (const u of users) await until(`${u.name}'s registration`, async () => (await client.account(u.id)).registered);
  say("registrations are in the L2 state");

  // ------------------------------------------------------------ 2. payments
  const validUntil = Math.floor(Date.now() / 1000) + 3600;
  const nonces = new Map<number, bigint>();
  const nextNonce = async (u: User) => {
    const n = nonces.get(u.id) ?? BigInt((await client.account(u.id)).pendingNonce);
    nonces.set(u.id, n + 1n);
    return n;
  };
  const ops: Hex[] = []; // every L2 operation of the story, all to be finalized
  const withdrawn: Record<number, bigint> = { [ETH]: 0n, [USDC]: 0n };
  const transfer = async (from: User, to: User, token: number, amount: bigint, fee: bigint) => {
    const body = { type: "transfer" as const, from: from.id, to: to.id, token, amount: float40("amount", amount), fee: float16("fee", fee), nonce: await nextNonce(from), validUntil };
    const tx: TransferTx = { ...body, signature: signMessage(from.priv, txMessage({ ...body, signature: NO_SIG }, domain)) };
    const { hash } = await client.submitTx(txToWire(tx));
    const what = `${from.name} → ${to.name} ${fmt(token, amount)}`;
    labels.set(hash, what);
    ops.push(hash);
    say(`sent ${what} (fee ${fmt(token, fee)}): ${hash}`);
  };
  const withdraw = async (u: User, token: number, amount: bigint, fee: bigint) => {
    const body = { type: "withdraw" as const, account: u.id, token, amount: float40(`${u.name}'s withdrawal`, amount), fee: float16("fee", fee), nonce: await nextNonce(u), validUntil };
    const tx: WithdrawTx = { ...body, signature: signMessage(u.priv, txMessage({ ...body, signature: NO_SIG }, domain)) };
    const { hash } = await client.submitTx(txToWire(tx));
    const what = `${u.name} withdraws ${fmt(token, amount)}`;
    labels.set(hash, what);
    ops.push(hash);
    withdrawn[token] += amount;
    say(`sent ${what}${fee ? ` (fee ${fmt(token, fee)})` : ""}: ${hash}`);
  };
  const ethFee = eth("0.000001");
  const usdcFee = usdc("0.01");
  await transfer(alice, carol, ETH, eth("0.25"), ethFee);
  await transfer(carol, alice, ETH, eth("0.1"), ethFee);
  await transfer(bob, carol, USDC, usdc("100"), usdcFee);
  await withdraw(carol, ETH, eth("0.3"), ethFee);

  // ------------------------------------------------------------ 3. trading
  const maxFeeBips = Math.max(market.makerFeeBips, market.takerFeeBips);
  const orderIds = new Map<number, bigint>();
  const signOrder = (u: User, side: OrderSide, amount: bigint, quoteAmount: bigint): Order => {
    const orderId = (orderIds.get(u.id) ?? 0n) + 1n;
    orderIds.set(u.id, orderId);
    const body = { account: u.id, orderId, base: market.base, quote: market.quote, side, amount: float40("order amount", amount), quoteAmount: float40("order quoteAmount", quoteAmount), maxFeeBips, validUntil };
    return { ...body, signature: signMessage(u.priv, orderMessage({ ...body, signature: NO_SIG }, domain)) };
  };
  const showBook = (b: BookResponse) => {
    const side = (ls: BookResponse["asks"]) => (ls.length ? ls.map((l) => `${fmt(ETH, BigInt(l.amount))} @ ${price(BigInt(l.priceNum), BigInt(l.priceDen))} (${l.orders} order${l.orders === 1 ? "" : "s"})`).join(", ") : "none");
    say(`book ${b.market}: asks ${side(b.asks)}; bids ${side(b.bids)}`);
  };
  const sellOrder = signOrder(alice, "sell", eth("0.5"), usdc("1000"));
  const sell = await client.submitOrder(orderToWire(sellOrder));
  if (sell.status !== "open" || sell.fills.length !== 0) throw new Error(`alice's sell should rest on the book, it is ${sell.status} with ${sell.fills.length} fills`);
  say(`alice sells 0.5 ETH at 2000 (order ${sell.hash.slice(0, 18)}…): ${sell.status}`);

  // The expected trades: at the maker's price, maker fee on what the seller gets, taker fee on what the buyer gets.
  const expectedTrades: { base: bigint; quote: bigint; sellFee: bigint; buyFee: bigint }[] = [];
  const take = async (n: number, amount: bigint, quoteAmount: bigint): Promise<Hex> => {
    const r = await client.submitOrder(orderToWire(signOrder(bob, "buy", amount, quoteAmount)));
    if (r.status !== "filled" || r.fills.length !== 1) throw new Error(`bob's buy #${n} should fill at once in one fill, it is ${r.status} with ${r.fills.length} fills`);
    const fill = notRejected(await client.tx(r.fills[0]));
    if (fill.type !== "fill" || fill.makerHash !== sell.hash) throw new Error(`bob's buy #${n} did not fill against alice's order`);
    const quote = (amount * sellOrder.quoteAmount) / sellOrder.amount;
    const exp = {
      base: amount, quote,
      sellFee: float16("maker fee", (quote * BigInt(market.makerFeeBips)) / 10_000n),
      buyFee: float16("taker fee", (amount * BigInt(market.takerFeeBips)) / 10_000n),
    };
    const got = { base: BigInt(fill.baseAmount), quote: BigInt(fill.quoteAmount), sellFee: BigInt(fill.sellFee), buyFee: BigInt(fill.buyFee) };
    if (JSON.stringify(got, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) !== JSON.stringify(exp, (_k, v) => (typeof v === "bigint" ? v.toString() : v))) {
      throw new Error(`fill ${n}: got base ${got.base} quote ${got.quote} fees ${got.sellFee}/${got.buyFee}, expected ${exp.base} ${exp.quote} ${exp.sellFee}/${exp.buyFee}`);
    }
    expectedTrades.push(exp);
    labels.set(fill.hash, `fill ${n}: bob buys ${fmt(ETH, amount)}`);
    ops.push(fill.hash);
    say(`bob buys ${fmt(ETH, amount)} at up to 2000: ${r.status}, fill ${fill.hash.slice(0, 18)}… ${fmt(ETH, got.base)} for ${fmt(USDC, got.quote)} (fees: alice ${fmt(USDC, got.sellFee)}, bob ${fmt(ETH, got.buyFee)})`);
    return fill.hash;
  };
  const fill1 = await take(1, eth("0.2"), usdc("400"));
  const batch1 = (await until("fill 1 to be in a batch", async () => notRejected(await client.tx(fill1)).batch)) as number;
  say(`fill 1 is in batch ${batch1}`);
  const fill2 = await take(2, eth("0.1"), usdc("200"));
  const mid = await client.order(sell.hash);
  if (mid.status !== "partially_filled" || BigInt(mid.filled) !== eth("0.3")) throw new Error(`alice's order: ${mid.status}, filled ${mid.filled} (expected partially_filled, 0.3 ETH)`);
  showBook(await client.book(MARKET));
  const ours = (await client.trades(MARKET)).trades.filter((t: TradeResponse) => t.makerHash === sell.hash).sort((a, b) => a.trade - b.trade);
  for (const t of ours) {
    say(`trade #${t.trade}: bob bought ${fmt(ETH, BigInt(t.baseAmount))} for ${fmt(USDC, BigInt(t.quoteAmount))} at ${price(BigInt(t.quoteAmount), BigInt(t.baseAmount))}, ${t.status}${t.batch !== undefined ? ` in batch ${t.batch}` : ""}`);
  }
  if (ours.length !== 2) throw new Error(`GET /v1/markets/${MARKET}/trades shows ${ours.length} trades against alice's order, expected 2`);

  const cancelSig = signMessage(alice.priv, cancelMessage(alice.id, sellOrder.orderId, domain));
  const cancelled = await client.cancelOrder(sell.hash, sigBody(cancelSig));
  if (cancelled.status !== "cancelled") throw new Error(`cancel: alice's order is ${cancelled.status}`);
  say(`alice cancels the rest (${fmt(ETH, BigInt(cancelled.remaining))}): ${cancelled.status}`);
  showBook(await client.book(MARKET));

  // ------------------------------------------------------------ 4. the traders withdraw what they got
  const aliceUsdc = expectedTrades.reduce((s, t) => s + t.quote - t.sellFee, 0n);
  const bobEth = expectedTrades.reduce((s, t) => s + t.base - t.buyFee, 0n);
  await withdraw(alice, USDC, aliceUsdc, 0n);
  await withdraw(bob, ETH, bobEth, 0n);

  // ------------------------------------------------------------ 5. every batch finalized
  await until("every operation to be final", async () => {
    const txs = (await Promise.all(ops.map((h) => client.tx(h)))).map(notRejected);
    return txs.every((t) => t.status === "finalized");
  });
  const fillBatches = await Promise.all([fill1, fill2].map(async (h) => (await client.tx(h)).batch));
  if (fillBatches[0] === fillBatches[1]) throw new Error(`both fills are in batch ${fillBatches[0]}; expected two batches`);
  const st = await poll();
  const l1Root = await reader.publicClient.readContract({ address: rollup, abi: rollupAbi, functionName: "stateRoot" });
  if (fieldToHex(l1Root) !== st.finalizedRoot) throw new Error(`L1 stateRoot ${fieldToHex(l1Root)} != finalized root ${st.finalizedRoot}`);
  say(`all ${ops.length} operations final in batches ${startBatch + 1}..${st.finalizedBatch} (${st.finalizedBatch - startBatch} batches); fills in batches ${fillBatches.join(" and ")}`);

  // ------------------------------------------------------------ 6. balances add up, token by token
  const ethSent = eth("0.25") - eth("0.1");
  const tradedEth = expectedTrades.reduce((s, t) => s + t.base, 0n);
  const tradedUsdc = expectedTrades.reduce((s, t) => s + t.quote, 0n);
  const expected: Record<string, Record<number, bigint>> = {
    alice: { [ETH]: eth("1") - ethSent - ethFee - tradedEth, [USDC]: 0n },
    bob: { [ETH]: 0n, [USDC]: usdc("1000") - usdc("100") - usdcFee - tradedUsdc },
    carol: { [ETH]: eth("1") + ethSent - ethFee - eth("0.3") - ethFee, [USDC]: usdc("100") },
  };
  const onL2: Record<number, bigint> = { [ETH]: 0n, [USDC]: 0n };
  for (const u of users) {
    const bal = (await client.account(u.id)).balances;
    for (const token of [ETH, USDC]) {
      const got = BigInt(bal[String(token)] ?? "0");
      if (got !== expected[u.name][token]) throw new Error(`${u.name}: ${fmt(token, got)} on L2, expected ${fmt(token, expected[u.name][token])}`);
      onL2[token] += got;
    }
    say(`${u.name}: ${fmt(ETH, expected[u.name][ETH])}, ${fmt(USDC, expected[u.name][USDC])} on L2, as expected`);
  }
  const feeBal = (await client.account(0)).balances;
  for (const token of [ETH, USDC]) {
    const fees = BigInt(feeBal[String(token)] ?? "0") - BigInt(fee0[String(token)] ?? "0");
    onL2[token] += fees;
    if (onL2[token] + withdrawn[token] !== deposited[token]) {
      throw new Error(`${sym(token)}: L2 ${onL2[token]} (fees ${fees}) + withdrawn ${withdrawn[token]} != deposited ${deposited[token]}`);
    }
    say(`${fmt(token, deposited[token])} deposited = ${fmt(token, onL2[token] - fees)} on L2 + ${fmt(token, fees)} fees (account 0) + ${fmt(token, withdrawn[token])} withdrawn`);
  }
  const final = await client.order(sell.hash);
  if (final.status !== "cancelled" || final.fills.length !== 2 || final.fills.some((f) => f.status !== "finalized")) {
    throw new Error(`alice's order is ${final.status} with fills [${final.fills.map((f) => f.status).join(", ")}], expected cancelled with two finalized fills`);
  }
  say(`alice's order: ${final.status}, filled ${fmt(ETH, BigInt(final.filled))} in ${final.fills.length} finalized fills`);

  // ------------------------------------------------------------ 7. claims on L1
  const claim = async (u: User, token: number, amount: bigint) => {
    const owner = u.l1.account.address;
    const pending = await u.l1.publicClient.readContract({ address: rollup, abi: rollupAbi, functionName: "pendingWithdrawal", args: [owner, token] });
    if (pending !== amount) throw new Error(`${u.name}: pending withdrawal ${fmt(token, pending)} on L1, expected ${fmt(token, amount)}`);
    const balance = () => (token === ETH
      ? u.l1.publicClient.getBalance({ address: owner })
      : u.l1.publicClient.readContract({ address: usdcAddress, abi: testTokenAbi, functionName: "balanceOf", args: [owner] }));
    const before = await balance();
    const rc = await mined(u, "claim", await u.l1.walletClient.writeContract({ address: rollup, abi: rollupAbi, functionName: "claim", args: [owner, token] }));
    const after = await balance();
    const paid = after - before + (token === ETH ? rc.gasUsed * rc.effectiveGasPrice : 0n);
    if (paid !== amount) throw new Error(`${u.name}'s claim paid ${fmt(token, paid)}, expected ${fmt(token, amount)}`);
    say(`${u.name} claimed ${fmt(token, paid)} on L1 (${owner})${token === ETH ? `: balance change + ${formatUnits(rc.gasUsed * rc.effectiveGasPrice, 18)} ETH gas = exactly that` : `: ${sym(token)} balance up by exactly that`}`);
  };
  await claim(carol, ETH, eth("0.3"));
  await claim(alice, USDC, aliceUsdc);
  await claim(bob, ETH, bobEth);
  say(`demo: ${st.finalizedBatch - startBatch} batches final on chain, roots match, trades settled, balances add up, withdrawals paid`);
}

main().then(() => process.exit(0), (e) => {
  const msg = e instanceof ApiError ? `${e.code}: ${e.message} (${e.status} from ${e.url})`
    : e instanceof Error ? ((e as { shortMessage?: string }).shortMessage ?? e.message) : String(e);
  console.error(`demo failed: ${msg}`);
  process.exit(1);
});
