/**
 * The fill slot accepts exactly the fills core/ accepts.
 * Valid: fills built by core/ (partial fills over several batches, fees, both sides) have a witness
 * and the circuit's roots equal core's. Invalid: for every trading rule, a fill that breaks only that
 * rule, built consistently by core's executeFill with the rule checks bypassed, has no witness.
 */
import * as fillOp from "../core/ops/fill";
import {
  CONFIGS, initCrypto, publicInputOf, headerBytes, orderSlotIndex, ProtocolError,
  type BatchResult, type CircuitInput, type FillOp, type Order, type State,
} from "../core";
import type { CompiledCircuit } from "../circuits/compile";
import { batchCircuit, witness, witnessError, circuitRoots } from "./helpers/circuit";
import { World } from "./helpers/world";

const P = CONFIGS.test;
const BASE = 1;
const QUOTE = 2;
let circuit: CompiledCircuit;

beforeAll(async () => {
  await initCrypto();
  circuit = await batchCircuit(P);
});

afterEach(() => jest.restoreAllMocks());

/** Accounts 1..3 hold 1e6 of base and of quote. */
function world(): World {
  const w = new World(P);
  w.registerAccounts(4, BASE, 1_000_000n);
  for (let a = 1; a < 4; a++) w.batch([w.deposit(a, QUOTE, 1_000_000n)], []);
  return w;
}

/** The slot's counter as the prover would read it, without judging it. */
function counterOf(s: State, o: Order): bigint {
  const slot = s.orderSlot(o.account, orderSlotIndex(s.params, o.orderId));
  return slot.orderId === o.orderId ? slot.filled : 0n;
}

/** Bypasses core's fill rules so a fill that breaks one can still be built consistently. */
function uncheckedFills(): void {
  jest.spyOn(fillOp, "applyFill").mockImplementation((s, f) => fillOp.executeFill(s, f, counterOf(s, f.sell), counterOf(s, f.buy)));
}

function fillBatch(w: World, fill: FillOp, feeTokens?: number[]): BatchResult {
  return w.batch([], [], feeTokens, [fill]);
}

async function expectProvable(b: BatchResult): Promise<void> {
  const [oldRoot, newRoot] = await circuitRoots(circuit, await witness(circuit, b.circuitInput));
  expect([oldRoot, newRoot]).toEqual([b.oldRoot, b.newRoot]);
}

async function expectRefused(input: CircuitInput, template: RegExp): Promise<void> {
  const err = await witnessError(circuit, input);
  expect(err).not.toBeNull();
  expect(err).toMatch(template);
}

/** core refuses the fill with `code`; with core's checks bypassed, the circuit refuses it in `template`. */
async function expectRuleHeld(w: World, fill: FillOp, code: ProtocolError["code"], template: RegExp, feeTokens?: number[]): Promise<void> {
  const root = w.state.root;
  expect(() => fillBatch(w, fill, feeTokens)).toThrow(expect.objectContaining({ code }));
  expect(w.state.root).toBe(root); // a refused batch changes nothing
  uncheckedFills();
  await expectRefused(fillBatch(w, fill, feeTokens).circuitInput, template);
}

describe("valid fills", () => {
  test("a partial fill with fees on both sides: circuit roots equal core's, balances and counters move", async () => {
    const w = world();
    // Account 1 sells 1000 base for at least 2000 quote; account 2 buys up to 500 at up to 2.2 each.
    const sell = w.order(1, "sell", BASE, QUOTE, 1000n, 2000n, { orderId: 1n, maxFeeBips: 50 });
    const buy = w.order(2, "buy", BASE, QUOTE, 500n, 1100n, { orderId: 2n, maxFeeBips: 50 });
    const b = fillBatch(w, w.fill(sell, buy, 400n, 800n, 4n, 2n));
    await expectProvable(b);
    expect(w.state.balance(1, BASE)).toBe(1_000_000n - 400n);
    expect(w.state.balance(1, QUOTE)).toBe(1_000_000n + 800n - 4n);
    expect(w.state.balance(2, QUOTE)).toBe(1_000_000n - 800n);
    expect(w.state.balance(2, BASE)).toBe(1_000_000n + 400n - 2n);
    expect(w.state.balance(0, QUOTE)).toBe(4n);
    expect(w.state.orderSlot(1, orderSlotIndex(P, 1n))).toEqual({ orderId: 1n, filled: 400n });
    expect(w.state.orderSlot(2, orderSlotIndex(P, 2n))).toEqual({ orderId: 2n, filled: 400n });
    expect(b.fillChunks[0][0]).toBe(4);
  });

  test("an order filled over several batches up to exactly its amount, then refused", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 1000n, 1000n, { orderId: 5n });
    for (const [buyer, id] of [[2, 1n], [3, 1n], [2, 2n]] as const) {
      const buy = w.order(buyer, "buy", BASE, QUOTE, 400n, 400n, { orderId: id });
      const amount = counterOf(w.state, sell) === 800n ? 200n : 400n;
      w.timestamp += 10;
      await expectProvable(fillBatch(w, w.fill(sell, buy, amount, amount)));
    }
    expect(counterOf(w.state, sell)).toBe(1000n);
    const late = w.order(3, "buy", BASE, QUOTE, 10n, 10n, { orderId: 3n });
    expect(() => fillBatch(w, w.fill(sell, late, 1n, 1n))).toThrow(expect.objectContaining({ code: "order_filled" }));
  });

  test("a later order id takes over the slot and starts from zero", async () => {
    const w = world();
    const slots = BigInt(4 ** P.orderLevels);
    const first = w.order(1, "sell", BASE, QUOTE, 100n, 100n, { orderId: 1n });
    const buy = w.order(2, "buy", BASE, QUOTE, 1000n, 1000n, { orderId: 1n });
    await expectProvable(fillBatch(w, w.fill(first, buy, 60n, 60n)));
    const second = w.order(1, "sell", BASE, QUOTE, 100n, 100n, { orderId: 1n + slots });
    await expectProvable(fillBatch(w, w.fill(second, buy, 100n, 100n)));
    expect(w.state.orderSlot(1, 1)).toEqual({ orderId: 1n + slots, filled: 100n });
    // the older order in that slot can no longer be filled
    expect(() => fillBatch(w, w.fill(first, buy, 1n, 1n))).toThrow(expect.objectContaining({ code: "order_id_used" }));
  });

  test("rounding: within one quote unit of each limit, on both sides", async () => {
    const w = world();
    // Seller asks 7 quote per 3 base: 1 base is worth 2.33; floor = 2 is the least it accepts.
    const sell = w.order(1, "sell", BASE, QUOTE, 3n, 7n, { orderId: 1n });
    // Buyer bids 7 per 3 too: ceil = 3 is the most it pays for 1 base.
    const buy = w.order(2, "buy", BASE, QUOTE, 3n, 7n, { orderId: 1n });
    await expectProvable(fillBatch(w, w.fill(sell, buy, 1n, 2n)));
    await expectProvable(fillBatch(w, w.fill(sell, buy, 1n, 3n)));
    const sell2 = w.order(1, "sell", BASE, QUOTE, 3n, 7n, { orderId: 2n });
    expect(() => fillBatch(w, w.fill(sell2, buy, 1n, 1n))).toThrow(expect.objectContaining({ code: "price_limit" }));
  });

  test("random fills, transfers and deposits in one batch: roots equal core's", async () => {
    let seed = 11;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const w = world();
    for (let round = 0; round < 4; round++) {
      const seller = 1 + rnd(3);
      const buyer = 1 + ((seller + rnd(2)) % 3);
      const price = BigInt(1 + rnd(5));
      const amount = BigInt(1 + rnd(500));
      const sell = w.order(seller, "sell", BASE, QUOTE, 1000n, 1000n * price, { orderId: BigInt(100 + 2 * round), maxFeeBips: 100 });
      const buy = w.order(buyer, "buy", BASE, QUOTE, 1000n, 1000n * price, { orderId: BigInt(101 + 2 * round), maxFeeBips: 100 });
      const fill = w.fill(sell, buy, amount, amount * price, BigInt(rnd(2)) * ((amount * price) / 100n), BigInt(rnd(2)) * (amount / 100n));
      w.timestamp += 1 + rnd(50);
      const b = w.batch(rnd(2) ? [w.deposit(1 + rnd(3), QUOTE, BigInt(rnd(1000)))] : [], [w.transfer(1 + rnd(3), 1 + rnd(3), BASE, BigInt(rnd(100)), 1n)], undefined, [fill]);
      await expectProvable(b);
    }
  });
});

describe("every trading rule is enforced by the circuit", () => {
  test("an order signed by another key", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 100n, { signer: 3 });
    await expectRuleHeld(w, w.fill(sell, w.order(2, "buy", BASE, QUOTE, 100n, 100n), 10n, 10n), "bad_signature", /EdDSAPoseidonVerifier/);
  });

  test("an order whose signed amount was changed", async () => {
    const w = world();
    const buy = { ...w.order(2, "buy", BASE, QUOTE, 100n, 100n), amount: 1000n };
    await expectRuleHeld(w, w.fill(w.order(1, "sell", BASE, QUOTE, 1000n, 1000n), buy, 500n, 500n), "bad_signature", /EdDSAPoseidonVerifier/);
  });

  test("orders of two markets (the signed quote token differs)", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 100n);
    const buy = { ...w.order(2, "buy", BASE, 3, 100n, 100n), quote: QUOTE };
    await expectRuleHeld(w, w.fill(sell, buy, 10n, 10n), "bad_signature", /EdDSAPoseidonVerifier/);
  });

  test("a buy order used as the sell side", async () => {
    const w = world();
    const disguised = { ...w.order(1, "buy", BASE, QUOTE, 100n, 100n), side: "sell" as const };
    await expectRuleHeld(w, w.fill(disguised, w.order(2, "buy", BASE, QUOTE, 100n, 100n), 10n, 10n), "bad_signature", /EdDSAPoseidonVerifier/);
  });

  test("overfill: beyond the order's amount in one fill", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 100n);
    await expectRuleHeld(w, w.fill(sell, w.order(2, "buy", BASE, QUOTE, 1000n, 1000n), 101n, 101n), "overfill", /FillCounter/);
  });

  test("overfill: a second fill past the amount (a filled order replayed)", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 100n);
    const buy = w.order(2, "buy", BASE, QUOTE, 1000n, 1000n);
    fillBatch(w, w.fill(sell, buy, 100n, 100n));
    await expectRuleHeld(w, w.fill(sell, buy, 100n, 100n), "order_filled", /FillCounter/);
  });

  test("an order whose slot holds a later order id", async () => {
    const w = world();
    const slots = BigInt(4 ** P.orderLevels);
    const buy = w.order(2, "buy", BASE, QUOTE, 1000n, 1000n);
    fillBatch(w, w.fill(w.order(1, "sell", BASE, QUOTE, 100n, 100n, { orderId: 2n + slots }), buy, 10n, 10n));
    await expectRuleHeld(w, w.fill(w.order(1, "sell", BASE, QUOTE, 100n, 100n, { orderId: 2n }), buy, 10n, 10n), "order_id_used", /FillCounter/);
  });

  test("price below the seller's limit", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 200n); // at least 2 per base
    const buy = w.order(2, "buy", BASE, QUOTE, 100n, 300n);
    await expectRuleHeld(w, w.fill(sell, buy, 10n, 19n), "price_limit", /FillSlot/);
  });

  test("price above the buyer's limit", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 100n);
    const buy = w.order(2, "buy", BASE, QUOTE, 100n, 200n); // at most 2 per base
    await expectRuleHeld(w, w.fill(sell, buy, 10n, 21n), "price_limit", /FillSlot/);
  });

  test("an expired order", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 100n, { validUntil: w.timestamp - 1 });
    await expectRuleHeld(w, w.fill(sell, w.order(2, "buy", BASE, QUOTE, 100n, 100n), 10n, 10n), "expired", /SignedOrder/);
  });

  test("a seller fee above the signed maximum", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 10_000n, 10_000n, { maxFeeBips: 10 }); // 0.1%
    const buy = w.order(2, "buy", BASE, QUOTE, 10_000n, 10_000n, { maxFeeBips: 10 });
    await expectProvable(fillBatch(w, w.fill(sell, buy, 1000n, 1000n, 1n, 1n)));
    await expectRuleHeld(w, w.fill(sell, buy, 1000n, 1000n, 2n, 0n), "fee_too_high", /FillSlot/);
  });

  test("a buyer fee above the signed maximum", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 10_000n, 10_000n, { maxFeeBips: 10 });
    const buy = w.order(2, "buy", BASE, QUOTE, 10_000n, 10_000n, { maxFeeBips: 10 });
    await expectRuleHeld(w, w.fill(sell, buy, 1000n, 1000n, 0n, 2n), "fee_too_high", /FillSlot/);
  });

  test("a trade of an account with itself", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 100n, { orderId: 1n });
    const buy = w.order(1, "buy", BASE, QUOTE, 100n, 100n, { orderId: 2n });
    await expectRuleHeld(w, w.fill(sell, buy, 10n, 10n), "self_trade", /FillSlot/);
  });

  test("a seller without the base amount", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 2_000_000n, 2_000_000n);
    await expectRuleHeld(w, w.fill(sell, w.order(2, "buy", BASE, QUOTE, 2_000_000n, 2_000_000n), 1_000_001n, 1_000_001n), "insufficient_balance", /Num2Bits[\s\S]*FillSlot/);
  });

  test("a buyer without the quote amount", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 2_000_000n, 2_000_000n);
    const buy = w.order(2, "buy", BASE, QUOTE, 1_000_000n, 4_000_000n);
    await expectRuleHeld(w, w.fill(sell, buy, 500_000n, 1_000_001n), "insufficient_balance", /Num2Bits[\s\S]*FillSlot/);
  });

  test("a zero fill (it would only move an order slot)", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 100n);
    await expectRuleHeld(w, w.fill(sell, w.order(2, "buy", BASE, QUOTE, 100n, 100n), 0n, 0n), "amount_out_of_range", /FillSlot/);
  });

  test("a fill that pays 0 quote for base (dust within both limits' rounding)", async () => {
    const w = world();
    // 100 base for 1 quote on both sides: floor(1·1/100) = 0 ≤ q ≤ ceil(1·1/100) = 1, so only the
    // rule that a fill pays at least one quote unit (FillSlot zeroPay) refuses q = 0.
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 1n);
    const buy = w.order(2, "buy", BASE, QUOTE, 100n, 1n);
    await expectRuleHeld(w, w.fill(sell, buy, 1n, 0n), "amount_out_of_range", /FillSlot/);
    jest.restoreAllMocks();
    await expectProvable(fillBatch(w, w.fill(sell, buy, 1n, 1n)));
  });

  test("a fee in a token that is not one of the batch's fee tokens", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 10_000n, 10_000n);
    const buy = w.order(2, "buy", BASE, QUOTE, 10_000n, 10_000n);
    const b = fillBatch(w, w.fill(sell, buy, 1000n, 1000n, 1n, 0n));
    await expectRefused({ ...b.circuitInput, fill_sellFeeSel: [["0", "0"]] }, /FillSlot/);
    await expectRefused({ ...b.circuitInput, feeTokens: ["3", "0"] }, /FillSlot/);
  });

  test("a noop fill slot that claims a fill in public data, or moves funds", async () => {
    const w = world();
    const sell = w.order(1, "sell", BASE, QUOTE, 100n, 100n);
    const buy = w.order(2, "buy", BASE, QUOTE, 100n, 100n);
    const real = fillBatch(w, w.fill(sell, buy, 10n, 10n));
    const empty = w.batch([], []);
    // An empty batch whose public data carries the real fill's chunk.
    const fillsAt = headerBytes(P) + P.l2Slots * 15;
    const forged = Uint8Array.from(empty.pubdata);
    forged.set(real.fillChunks[0], fillsAt);
    await expectRefused({ ...empty.circuitInput, publicInput: publicInputOf(forged).toString() }, /Batch/);
    // The real fill with its slot typed noop: the root no longer follows.
    await expectRefused({ ...real.circuitInput, fill_isFill: ["0"] }, /FillSlot|Batch/);
  });

  test("tampered fill public data (the quote amount)", async () => {
    const w = world();
    const b = fillBatch(w, w.fill(w.order(1, "sell", BASE, QUOTE, 100n, 100n), w.order(2, "buy", BASE, QUOTE, 100n, 200n), 10n, 15n));
    const bytes = Uint8Array.from(b.pubdata);
    bytes[headerBytes(P) + P.l2Slots * 15 + 46] ^= 1; // last byte of quoteAmount
    await expectRefused({ ...b.circuitInput, publicInput: publicInputOf(bytes).toString() }, /Batch/);
  });
});
