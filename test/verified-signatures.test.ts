/**
 * No signature verified twice: the sequencer records the signatures it verified at acceptance
 * (sequencer/verify-pool.ts VerifiedSignatures) and its cuts re-check pending operations through that
 * record (core's buildBatch and plan.ts dropAndRecheck take the check); anything not recorded is
 * verified, so the accepted set is core's.
 */
import { CONFIGS, State, buildBatch, generatePrivateKey, initCrypto, orderMessage, publicKeyOf, signMessage, QUEUE_DEPOSIT, QUEUE_REGISTER, type Order } from "../core";
import type { SignatureCheck } from "../core/eddsa";
import { signatureCheck, VerifiedSignatures } from "../sequencer/verify-pool";
import { DOMAIN, ROLLUP } from "./helpers/world";

const P = CONFIGS.test;
const zero = { r8x: 0n, r8y: 0n, s: 0n };

beforeAll(() => initCrypto());

describe("VerifiedSignatures", () => {
  test("a recorded triple answers without verifying; anything else is verified", () => {
    const k = generatePrivateKey();
    const pub = publicKeyOf(k);
    const sig = signMessage(k, 42n);
    const record = new VerifiedSignatures();
    expect(record.check(42n, sig, pub)).toBe(true); // verified
    // A bogus triple recorded by hand shows the record is consulted first ...
    const bogus = { ...sig, s: sig.s + 1n };
    expect(record.check(42n, bogus, pub)).toBe(false);
    record.add(42n, bogus, pub);
    expect(record.check(42n, bogus, pub)).toBe(true);
    // ... and only for exactly that triple: another R8, message or key is verified (and fails).
    expect(record.check(42n, { ...bogus, r8y: bogus.r8y + 1n }, pub)).toBe(false);
    expect(record.check(43n, bogus, pub)).toBe(false);
    expect(record.check(42n, bogus, publicKeyOf(generatePrivateKey()))).toBe(false);
  });

  test("bounded: past the limit the oldest entries go (and are verified again)", () => {
    const k = generatePrivateKey();
    const pub = publicKeyOf(k);
    const record = new VerifiedSignatures(2);
    const fake = (m: bigint) => ({ r8x: m, r8y: m, s: m });
    record.add(1n, fake(1n), pub);
    record.add(2n, fake(2n), pub);
    record.add(3n, fake(3n), pub);
    expect(record.size).toBe(2);
    expect(record.check(1n, fake(1n), pub)).toBe(false);
    expect(record.check(3n, fake(3n), pub)).toBe(true);
  });

  test("several triples for one message: each answers for itself; the oldest message goes with all of them", () => {
    const pub = publicKeyOf(generatePrivateKey());
    const record = new VerifiedSignatures(3);
    const fake = (s: bigint) => ({ r8x: 1n, r8y: 2n, s });
    record.add(9n, fake(1n), pub);
    record.add(9n, fake(2n), pub);
    record.add(9n, fake(2n), pub); // already there: not counted twice
    expect(record.size).toBe(2);
    expect([record.check(9n, fake(1n), pub), record.check(9n, fake(2n), pub), record.check(9n, fake(3n), pub)]).toEqual([true, true, false]);
    record.add(10n, fake(1n), pub);
    record.add(11n, fake(1n), pub); // over the limit: message 9 and both its triples go
    expect(record.size).toBe(2);
    expect([record.check(9n, fake(1n), pub), record.check(10n, fake(1n), pub), record.check(11n, fake(1n), pub)]).toEqual([false, true, true]);
  });

  test("signatureCheck records what verified, and nothing that did not", () => {
    const k = generatePrivateKey();
    const pub = publicKeyOf(k);
    const sig = signMessage(k, 7n);
    const record = new VerifiedSignatures();
    const check = signatureCheck({ message: 7n, sig, pub, ok: true }, record);
    expect(check(7n, sig, pub)).toBe(true);
    expect(check(7n, { ...sig, s: sig.s + 1n }, pub)).toBe(false);
    expect(record.size).toBe(1);
  });
});

test("buildBatch checks fills' order signatures through the given check", () => {
  const keys = [generatePrivateKey(), generatePrivateKey()];
  const build = (verify?: SignatureCheck) => {
    const state = new State(P);
    let q = 0n;
    const records = [
      ...keys.map((k, i) => ({ kind: QUEUE_REGISTER as typeof QUEUE_REGISTER, accountId: i, token: 0, amount: 10n ** 18n, ...publicKeyOf(k) })),
      { kind: QUEUE_DEPOSIT as typeof QUEUE_DEPOSIT, accountId: 1, token: 1, amount: 10n ** 9n, ax: 0n, ay: 0n },
    ];
    for (const r of records) q = buildBatch(state, { chainId: 31337, rollup: ROLLUP, timestamp: 5, queueHashBefore: q, deposits: [r], txs: [] }).queueHashAfter;
    const signOrder = (o: Omit<Order, "signature">, k: string): Order => ({ ...o, signature: signMessage(k, orderMessage({ ...o, signature: zero }, DOMAIN)) });
    const sell = signOrder({ account: 0, orderId: 1n, base: 0, quote: 1, side: "sell", amount: 10n ** 16n, quoteAmount: 1n, maxFeeBips: 30, validUntil: 99 }, keys[0]);
    const buy = signOrder({ account: 1, orderId: 1n, base: 0, quote: 1, side: "buy", amount: 10n ** 16n, quoteAmount: 10n ** 16n, maxFeeBips: 30, validUntil: 99 }, keys[1]);
    return () => buildBatch(state, { chainId: 31337, rollup: ROLLUP, timestamp: 6, queueHashBefore: q, deposits: [], txs: [], fills: [{ type: "fill", sell, buy, baseAmount: 10n ** 15n, quoteAmount: 1n, sellFee: 0n, buyFee: 0n }], verify });
  };
  const calls: bigint[] = [];
  const counting: SignatureCheck = (m) => (calls.push(m), true);
  build(counting)();
  expect(calls).toHaveLength(2);
  expect(build(() => false)).toThrow(/signature/);
});
