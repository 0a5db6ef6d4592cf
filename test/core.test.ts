/** core/ unit tests with known-answer vectors. */
import {
  poseidon, initCrypto, publicKeyOf, signMessage, verifySignature, isOnCurve, State, CONFIGS,
  FLOAT40, FLOAT16, encodeFloat, decodeFloat, tryEncodeFloat, floorToFloat,
  SparseMerkleTree, rootFromProof, packMessage, unpackMessage, txHash,
  transferChunk, withdrawChunk, encodePubdata, decodePubdata, publicInputOf, headerBytes, pubdataBytes, withdrawalsOf,
  queueHashNext, packQueueRecord, QUEUE_REGISTER, QUEUE_FORCED_EXIT, ProtocolError, toHex,
  orderMessage, orderHash, cancelMessage, orderFields, packOrderMessage, fillChunk, encodeFees, sellerLimitHolds, buyerLimitHolds, feeWithinLimit,
  type Order, type FillOp,
} from "../core";
import { World } from "./helpers/world";

beforeAll(() => initCrypto());

describe("hashes and keys (known answers)", () => {
  test("Poseidon matches circomlib's vectors", () => {
    expect(poseidon([1n, 2n])).toBe(7853200120776062878684798364095072458815029376092732009249414926327459813530n);
    expect(poseidon([1n, 2n, 3n, 4n])).toBe(18821383157269793795438455681495246036402687001665670618754263018637548127333n);
  });

  test("EdDSA key derivation matches circomlibjs' vector; signatures verify and bind the message", () => {
    const pk = "0x0001020304050607080900010203040506070809000102030405060708090001";
    const pub = publicKeyOf(pk);
    expect(pub).toEqual({
      ax: 13277427435165878497778222415993513565335242147425444199013288855685581939618n,
      ay: 13622229784656158136036771217484571176836296686641868549125388198837476602820n,
    });
    expect(isOnCurve(pub)).toBe(true);
    const sig = signMessage(pk, 1234n);
    expect(sig.s).toBe(2010143491207902444122668013146870263468969134090678646686512037244361350365n);
    expect(verifySignature(1234n, sig, pub)).toBe(true);
    expect(verifySignature(1235n, sig, pub)).toBe(false);
    expect(isOnCurve({ ax: 1n, ay: 1n })).toBe(false);
  });

  test("genesis roots of each configuration are pinned", () => {
    expect(new State(CONFIGS.test).root.toString(16)).toBe("86bdea4a619585b8659e927557ef2a59e5cf297ca4c76e7396522891f50037");
    expect(new State(CONFIGS.production).root.toString(16)).toBe("27f808fa0b7e49d34d5933c63164a65ef7eb85069e5b95883c4ecab98fb8b18a");
  });
});

describe("floats", () => {
  test("known encodings", () => {
    expect(encodeFloat(FLOAT40, 1000n)).toBe(1000n);
    expect(encodeFloat(FLOAT40, 10n ** 40n)).toBe((30n << 35n) | 10n ** 10n); // smallest exponent wins
    expect(encodeFloat(FLOAT16, 2047n)).toBe(2047n);
    expect(encodeFloat(FLOAT16, 20470n)).toBe((1n << 11n) | 2047n);
    expect(tryEncodeFloat(FLOAT16, 20480n)).toBeNull(); // 2048 · 10 needs a 12-bit mantissa
    expect(tryEncodeFloat(FLOAT40, 1n << 35n)).toBeNull(); // 34359738368 needs 36 bits and is not a multiple of 10
    expect(tryEncodeFloat(FLOAT16, 2049n)).toBeNull();
  });
  test("round trips and floor", () => {
    for (const v of [0n, 1n, 999n, 123456789n * 10n ** 18n, (1n << 35n) - 1n]) expect(decodeFloat(FLOAT40, encodeFloat(FLOAT40, v))).toBe(v);
    expect(floorToFloat(FLOAT16, 2049n)).toBe(2040n);
    expect(() => decodeFloat(FLOAT16, 1n << 16n)).toThrow(RangeError);
  });
});

describe("sparse Merkle tree", () => {
  test("proofs recompute the root; empty tree equals zero hashes", () => {
    const t = new SparseMerkleTree(8, 2);
    expect(t.root).toBe(poseidon(new Array(8).fill(poseidon(new Array(8).fill(0n)))));
    t.set(5, 77n);
    t.set(63, 9n);
    for (const i of [0, 5, 63]) expect(rootFromProof(8, t.proof(i))).toBe(t.root);
    expect(t.proof(5).siblings[0]).toHaveLength(7);
  });
  test("journaled writes roll back", () => {
    const t = new SparseMerkleTree(4, 3);
    t.set(1, 5n);
    const before = t.root;
    const journal: (() => void)[] = [];
    t.set(1, 6n, journal);
    t.set(40, 1n, journal);
    journal.reverse().forEach((u) => u());
    expect(t.root).toBe(before);
    expect(t.leaf(40)).toBe(0n);
  });
  test("rejects indices outside the tree", () => {
    expect(() => new SparseMerkleTree(4, 1).set(4, 1n)).toThrow(RangeError);
  });
});

describe("encodings", () => {
  test("signed message bit layout", () => {
    const m = { type: 2, from: 1, to: 2, token: 3, amountF: 4n, feeF: 5n, nonce: 6n, validUntil: 7, chainId: 8 };
    const packed = packMessage(m);
    expect(packed).toBe(2n + (1n << 8n) + (2n << 40n) + (3n << 72n) + (4n << 80n) + (5n << 120n) + (6n << 136n) + (7n << 168n) + (8n << 200n));
    expect(unpackMessage(packed)).toEqual(m);
    expect(() => packMessage({ ...m, token: 256 })).toThrow(RangeError);
    expect(txHash(packed)).toMatch(/^0x[0-9a-f]{64}$/);
  });
  test("chunks", () => {
    expect(toHex(transferChunk(0x010203, 0x040506, 7, 0x08090a0b0cn, 0x0d0en))).toBe("0x020102030405060708090a0b0c0d0e");
    expect(toHex(withdrawChunk(0x010203, 7, 0x08090a0b0cn, 0x0d0en))).toBe("0x030102030708090a0b0c0d0e000000");
  });
  test("pubdata layout, public input, withdrawals", () => {
    const p = CONFIGS.test;
    const chunks = [withdrawChunk(3, 1, 100n, 0n), transferChunk(1, 2, 1, 5n, 0n)];
    const h = { oldRoot: 1n, newRoot: 2n, queueHashBefore: 3n, queueHashAfter: 4n, chainId: 31337, timestamp: 99, rollup: "0x00000000000000000000000000000000000000a1" as const, feeTokens: [1, 0] };
    const fillChunks = [new Uint8Array(51).fill(7)];
    const forcedExits = [0x0102n];
    const data = encodePubdata(p, h, chunks, fillChunks, forcedExits);
    expect(data.length).toBe(headerBytes(p) + 30 + 51 + 16);
    expect(data.length).toBe(pubdataBytes(p));
    expect(toHex(data.subarray(136, 156))).toBe(h.rollup); // the rollup, after the timestamp
    expect(data[156]).toBe(1); // fee tokens
    expect(data[157]).toBe(0);
    expect(data[158]).toBe(0x80); // slot 0 is a withdrawal
    expect(data.subarray(headerBytes(p) + 30, headerBytes(p) + 81)).toEqual(fillChunks[0]); // fill chunks follow the L2 chunks
    expect(toHex(data.subarray(headerBytes(p) + 81))).toBe("0x" + "0102".padStart(32, "0")); // forced exits last, u128 big-endian
    expect(decodePubdata(p, data)).toEqual({ ...h, chunks, fillChunks, forcedExits });
    expect(() => encodePubdata(p, h, chunks, fillChunks, [])).toThrow(/forced exit/);
    expect(() => encodePubdata(p, h, chunks, fillChunks, [1n << 128n])).toThrow(RangeError);
    expect(publicInputOf(data) < 1n << 253n).toBe(true);
    expect(withdrawalsOf(chunks)).toEqual([{ accountId: 3, token: 1, amount: 100n }]);
  });
  test("queue records chain with Poseidon_4", () => {
    const r = { kind: QUEUE_REGISTER, accountId: 7, token: 1, amount: 5n, ax: 11n, ay: 12n } as const;
    expect(packQueueRecord(r)).toBe(7n + (1n << 32n) + (2n << 40n) + (5n << 48n));
    expect(queueHashNext(0n, r)).toBe(poseidon([0n, packQueueRecord(r), 11n, 12n]));
    expect(packQueueRecord({ kind: QUEUE_FORCED_EXIT, accountId: 7, token: 1, amount: 0n, ax: 0n, ay: 0n })).toBe(7n + (1n << 32n) + (3n << 40n));
  });
});

describe("state transition", () => {
  test("a batch with an invalid operation is rejected with a reason and changes nothing", () => {
    const w = new World(CONFIGS.test);
    w.registerAccounts(3, 1, 100n);
    const root = w.state.root;
    const ok = w.transfer(1, 2, 1, 10n);
    const overspend = w.transfer(2, 1, 1, 1000n);
    let err: unknown;
    try {
      w.batch([w.deposit(1, 1, 5n)], [ok, overspend]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe("insufficient_balance");
    expect((err as ProtocolError).message).toMatch(/operation 1/);
    expect(w.state.root).toBe(root);
    expect(w.state.balance(1, 1)).toBe(100n);
    expect(w.state.account(1).nonce).toBe(0n);
  });

  test.each([
    ["bad_nonce", (w: World) => w.transfer(1, 2, 1, 1n, 0n, { nonce: 3n })],
    ["bad_signature", (w: World) => ({ ...w.transfer(1, 2, 1, 1n), amount: 2n })],
    ["expired", (w: World) => w.transfer(1, 2, 1, 1n, 0n, { validUntil: w.timestamp - 1 })],
    ["unregistered_account", (w: World) => w.transfer(1, 9, 1, 1n)],
    ["amount_not_representable", (w: World) => ({ ...w.transfer(1, 2, 1, 1n), amount: (1n << 35n) + 1n })],
    ["bad_token", (w: World) => ({ ...w.transfer(1, 2, 1, 1n), token: 4 })],
  ])("rejects %s", (code, make) => {
    const w = new World(CONFIGS.test);
    w.registerAccounts(3, 1, 100n);
    const root = w.state.root;
    expect(() => w.batch([], [make(w)])).toThrow(expect.objectContaining({ code }));
    expect(w.state.root).toBe(root);
  });

  test("fees go to account 0 in the batch's fee tokens", () => {
    const w = new World(CONFIGS.test);
    w.registerAccounts(3, 1, 100n);
    const b = w.batch([], [w.transfer(1, 2, 1, 10n, 2n), w.withdraw(2, 1, 5n, 1n)]);
    expect(b.feeTokens).toEqual([1, 0]); // padded to feeBuckets (2) with token 0
    expect(w.state.balance(0, 1)).toBe(103n);
    expect(w.state.balance(1, 1)).toBe(88n);
    expect(w.state.balance(2, 1)).toBe(104n);
    expect(b.withdrawals).toEqual([{ accountId: 2, token: 1, amount: 5n }]);
  });
});

describe("forced exits (queue kind 3)", () => {
  test("empties the balance; the old balance is the slot's exit amount in the result and the pubdata", () => {
    const w = new World(CONFIGS.test);
    w.registerAccounts(3, 1, 100n);
    w.batch([w.deposit(2, 2, 40n)], []);
    const { nonce, ax, ay } = w.state.account(2);
    const b = w.batch([w.forcedExit(2, 1)], [w.transfer(1, 2, 1, 10n)]);
    expect(w.state.balance(2, 1)).toBe(10n); // exited first (L1 slots run before L2), then credited
    expect(w.state.balance(2, 2)).toBe(40n); // other tokens stay
    expect(w.state.account(2)).toMatchObject({ nonce, ax, ay });
    expect(b.forcedExits).toEqual([100n]);
    expect(toHex(b.forcedExitData)).toBe("0x" + "64".padStart(32, "0"));
    expect(b.pubdata.subarray(b.pubdata.length - 16)).toEqual(b.forcedExitData);
    expect(b.pubdata.length).toBe(pubdataBytes(CONFIGS.test));
    expect(decodePubdata(CONFIGS.test, b.pubdata).forcedExits).toEqual([100n]);
    expect(b.withdrawals).toEqual([]); // a forced exit is not an L2 withdrawal
  });

  test("an exit of a zero balance has amount 0; slots without an exit report 0", () => {
    const w = new World(CONFIGS.test);
    w.registerAccounts(3, 1, 100n);
    const b = w.batch([w.forcedExit(1, 2)], []);
    expect(b.forcedExits).toEqual([0n]);
    expect(w.state.balance(1, 1)).toBe(100n);
    expect(w.batch([w.deposit(1, 1, 5n)], []).forcedExits).toEqual([0n]);
    expect(w.batch([], []).forcedExits).toEqual([0n]);
  });

  test.each([
    ["unregistered_account", (w: World) => w.forcedExit(5, 1)],
    ["bad_queue_record", (w: World) => ({ ...w.forcedExit(1, 1), amount: 1n })],
    ["bad_queue_record", (w: World) => ({ ...w.forcedExit(1, 1), ax: 1n })],
  ])("refuses %s", (code, make) => {
    const w = new World(CONFIGS.test);
    w.registerAccounts(3, 1, 100n);
    const root = w.state.root;
    expect(() => w.batch([make(w)], [])).toThrow(expect.objectContaining({ code }));
    expect(w.state.root).toBe(root);
  });
});

describe("orders and fills", () => {
  const sig = { r8x: 0n, r8y: 0n, s: 0n };
  const order = (o: Partial<Order> = {}): Order => ({
    account: 0x010203, orderId: 0x04050607n, base: 8, quote: 9, side: "sell", amount: 10n, quoteAmount: 11n, maxFeeBips: 12, validUntil: 13, signature: sig, ...o,
  });

  test("order message packs every field at its place (known answer), bound to the deployment", () => {
    const m = packOrderMessage(orderFields(order(), 0x0e));
    const field = (lo: number, bits: number): bigint => (m >> BigInt(lo)) & ((1n << BigInt(bits)) - 1n);
    expect([field(0, 8), field(8, 32), field(40, 32), field(72, 8), field(80, 8), field(88, 1)]).toEqual([4n, 0x010203n, 0x04050607n, 8n, 9n, 1n]);
    expect([field(89, 40), field(129, 40), field(169, 16), field(185, 32), field(217, 32)]).toEqual([10n, 11n, 12n, 13n, 14n]);
    expect(m < 1n << 249n).toBe(true);
    expect(packOrderMessage(orderFields(order({ side: "buy" }), 14)) ^ m).toBe(1n << 88n);
    // What the owner signs: Poseidon(packed, rollup address).
    const domain = { chainId: 14, rollup: "0x00000000000000000000000000000000000000a1" } as const;
    expect(orderMessage(order(), domain)).toBe(poseidon([m, 0xa1n]));
    expect(orderMessage(order(), { ...domain, rollup: "0x00000000000000000000000000000000000000a2" })).not.toBe(orderMessage(order(), domain));
    expect(orderHash(order(), domain)).toMatch(/^0x[0-9a-f]{64}$/);
    expect(cancelMessage(3, 7n, { chainId: 31337, rollup: domain.rollup })).toBe(poseidon([5n + (3n << 8n) + (7n << 40n) + (31337n << 72n), 0xa1n]));
  });

  test("order message: asked again for the same object, the same answer; for a changed object or another domain, the new one", () => {
    const domain = { chainId: 14, rollup: "0x00000000000000000000000000000000000000a1" } as const;
    const o = order() as { -readonly [K in keyof Order]: Order[K] };
    const first = orderMessage(o, domain);
    expect(orderMessage(o, domain)).toBe(first);
    expect(orderMessage(o, { ...domain, chainId: 15 })).toBe(orderMessage(order(), { ...domain, chainId: 15 }));
    // A changed field is never answered from the memo of the object's earlier contents: every field of
    // an order (so also one added later and signed, but forgotten in the memo's inputs) is changed in turn.
    const changed = (v: unknown): unknown => (typeof v === "bigint" ? v + 1n : typeof v === "number" ? v + 1 : v === "sell" ? "buy" : "sell");
    for (const k of Object.keys(o).filter((k) => k !== "signature") as (keyof Order)[]) {
      const before = orderMessage(o, domain);
      (o as Record<string, unknown>)[k] = changed(o[k]);
      const after = orderMessage(o, domain);
      expect(after).toBe(orderMessage({ ...o }, domain));
      expect(after).not.toBe(before);
    }
    expect(orderMessage(o, domain)).not.toBe(first);
  });

  test("fill chunk layout (known answer)", () => {
    const fill: FillOp = { type: "fill", sell: order({ account: 0x0a0b0c, orderId: 0x01020304n }), buy: order({ account: 0x0d0e0f, orderId: 0x05060708n, side: "buy" }), baseAmount: 0x11n, quoteAmount: 0x22n, sellFee: 3n, buyFee: 4n };
    expect(toHex(fillChunk(fill, encodeFees(fill)))).toBe(
      "0x04" + "0a0b0c" + "01020304" + "0d0e0f" + "05060708" + "08" + "09" + "11".padStart(30, "0") + "22".padStart(30, "0") + "0003" + "0004",
    );
  });

  test("limits allow less than one quote unit of rounding against each side, never more", () => {
    const sell = { amount: 3n, quoteAmount: 7n }; // 2.33 per base
    expect([sellerLimitHolds(sell, 1n, 2n), sellerLimitHolds(sell, 1n, 1n), sellerLimitHolds(sell, 3n, 7n), sellerLimitHolds(sell, 3n, 6n)]).toEqual([true, false, true, false]);
    const buy = { amount: 3n, quoteAmount: 7n };
    expect([buyerLimitHolds(buy, 1n, 3n), buyerLimitHolds(buy, 1n, 4n), buyerLimitHolds(buy, 3n, 7n), buyerLimitHolds(buy, 3n, 8n)]).toEqual([true, false, true, false]);
    expect([feeWithinLimit(30, 10_000n, 30n), feeWithinLimit(30, 10_000n, 31n), feeWithinLimit(0, 10n, 0n)]).toEqual([true, false, true]);
  });

  test("checkFill names the rule a fill breaks, and a refused batch changes nothing", () => {
    const w = new World(CONFIGS.test);
    w.registerAccounts(3, 1, 1000n);
    w.batch([w.deposit(2, 2, 1000n)], []);
    const sell = w.order(1, "sell", 1, 2, 100n, 100n);
    const buy = w.order(2, "buy", 1, 2, 100n, 100n);
    const root = w.state.root;
    const refuse = (f: FillOp) => {
      try {
        w.batch([], [], undefined, [f]);
      } catch (e) {
        expect(w.state.root).toBe(root);
        return (e as ProtocolError).code;
      }
      return "accepted";
    };
    expect(refuse(w.fill(sell, buy, 101n, 101n))).toBe("overfill");
    expect(refuse(w.fill(sell, buy, 10n, 9n))).toBe("price_limit");
    expect(refuse(w.fill(buy, sell, 10n, 10n))).toBe("bad_request");
    expect(refuse(w.fill(sell, w.order(1, "buy", 1, 2, 100n, 100n, { orderId: 1n }), 10n, 10n))).toBe("self_trade");
    expect(refuse(w.fill(sell, w.order(2, "buy", 1, 3, 100n, 100n), 10n, 10n))).toBe("market_mismatch");
    expect(refuse(w.fill(sell, buy, 10n, 10n, 2047n, 0n))).toBe("fee_too_high");
    expect(refuse(w.fill(sell, buy, 10n, 10n, 2049n, 0n))).toBe("amount_not_representable");
    expect(refuse(w.fill(sell, buy, 10n, 10n))).toBe("accepted");
  });

  test("a fill pays at least one quote unit: a dust fill within both limits is refused with amount_out_of_range", () => {
    const w = new World(CONFIGS.test);
    w.registerAccounts(3, 1, 1000n);
    w.batch([w.deposit(2, 2, 1000n)], []);
    // 100 base for 1 quote on both sides: 1 base is worth 0.01 quote, so floor and ceil allow q = 0.
    const sell = w.order(1, "sell", 1, 2, 100n, 1n);
    const buy = w.order(2, "buy", 1, 2, 100n, 1n);
    expect([sellerLimitHolds(sell, 1n, 0n), buyerLimitHolds(buy, 1n, 0n)]).toEqual([true, true]);
    const root = w.state.root;
    expect(() => w.batch([], [], undefined, [w.fill(sell, buy, 1n, 0n)])).toThrow(
      expect.objectContaining({ code: "amount_out_of_range", message: expect.stringMatching(/fill quote amount must be in 1\.\.2\^120-1/) }),
    );
    expect(w.state.root).toBe(root);
    // one quote unit for the same base is a valid fill (the buyer's ceil(0.01) = 1)
    w.batch([], [], undefined, [w.fill(sell, buy, 1n, 1n)]);
    expect([w.state.balance(1, 1), w.state.balance(1, 2), w.state.balance(2, 2)]).toEqual([999n, 1n, 999n]);
  });
});
