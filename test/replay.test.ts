/** core/replay.ts against buildBatch: a replay from pubdata and queue records alone reaches the same state and pubdata. */
import {
  CONFIGS, State, buildBatch, decodePubdata, generatePrivateKey, initCrypto, orderMessage, publicKeyOf, replayBatch, signMessage, txMessage,
  QUEUE_DEPOSIT, QUEUE_REGISTER, ReplayError, transferChunk, encodeFloat, FLOAT40, type L2Tx, type Order, type QueueRecord,
} from "../core";
import { proofFromSolidity, proofToSolidity } from "../contracts/proof";
import { DOMAIN, ROLLUP } from "./helpers/world";

const P = CONFIGS.test;
const zero = { r8x: 0n, r8y: 0n, s: 0n };
const vu = 2 ** 32 - 1;

test("replay matches buildBatch for registrations, deposits, transfers, a withdrawal and a fill; an overdraw is refused", async () => {
  await initCrypto();
  const keys = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
  const recs: QueueRecord[] = [
    { kind: QUEUE_REGISTER, accountId: 0, token: 0, amount: 0n, ...publicKeyOf(keys[0]) },
    { kind: QUEUE_REGISTER, accountId: 1, token: 0, amount: 10n ** 18n, ...publicKeyOf(keys[1]) },
    { kind: QUEUE_REGISTER, accountId: 2, token: 0, amount: 10n ** 18n, ...publicKeyOf(keys[2]) },
    { kind: QUEUE_DEPOSIT, accountId: 2, token: 1, amount: 10n ** 9n, ax: 0n, ay: 0n },
  ];
  const sign = (tx: L2Tx, k: string): L2Tx => ({ ...tx, signature: signMessage(k, txMessage(tx, DOMAIN)) });
  const signOrder = (o: Omit<Order, "signature">, k: string): Order => ({ ...o, signature: signMessage(k, orderMessage({ ...o, signature: zero }, DOMAIN)) });
  const sell = signOrder({ account: 1, orderId: 1n, base: 0, quote: 1, side: "sell", amount: 10n ** 16n, quoteAmount: 20_000_000n, maxFeeBips: 30, validUntil: vu }, keys[1]);
  const buy = signOrder({ account: 2, orderId: 1n, base: 0, quote: 1, side: "buy", amount: 10n ** 16n, quoteAmount: 20_000_000n, maxFeeBips: 30, validUntil: vu }, keys[2]);
  const batches = [
    { deposits: [recs[0]], txs: [] },
    { deposits: [recs[1]], txs: [] },
    { deposits: [recs[2]], txs: [sign({ type: "transfer", from: 1, to: 2, token: 0, amount: 1000n, fee: 10n, nonce: 0n, validUntil: vu, signature: zero }, keys[1])] },
    {
      deposits: [recs[3]],
      txs: [sign({ type: "withdraw", account: 1, token: 0, amount: 10n ** 17n, fee: 0n, nonce: 1n, validUntil: vu, signature: zero }, keys[1])],
      fills: [{ type: "fill" as const, sell, buy, baseAmount: 5n * 10n ** 15n, quoteAmount: 10_000_000n, sellFee: 20_000n, buyFee: 10n ** 13n }],
    },
  ];
  const built = new State(P);
  const replayed = new State(P);
  let q = 0n;
  for (const b of batches) {
    const r = buildBatch(built, { chainId: 31337, rollup: ROLLUP, timestamp: 1000, queueHashBefore: q, ...b });
    const out = replayBatch(replayed, { pubdata: decodePubdata(P, r.pubdata), records: b.deposits });
    expect(out.newRoot).toBe(r.newRoot);
    expect(Buffer.from(out.pubdata).equals(Buffer.from(r.pubdata))).toBe(true);
    expect(out.publicInput).toBe(r.publicInput);
    expect(out.withdrawals).toEqual(r.withdrawals);
    q = r.queueHashAfter;
  }
  // A second fill of the same orders continues their counters.
  const r5 = buildBatch(built, { chainId: 31337, rollup: ROLLUP, timestamp: 1000, queueHashBefore: q, deposits: [], txs: [], fills: [{ type: "fill", sell, buy, baseAmount: 5n * 10n ** 15n, quoteAmount: 10_000_000n, sellFee: 0n, buyFee: 0n }] });
  const out5 = replayBatch(replayed, { pubdata: decodePubdata(P, r5.pubdata), records: [] });
  expect(out5.newRoot).toBe(r5.newRoot);
  expect(out5.counts).toEqual({ registrations: 0, deposits: 0, forcedExits: 0, transfers: 0, withdrawals: 0, fills: 1 });

  // An overdrawing transfer: the chunk alone says so.
  const pd = decodePubdata(P, r5.pubdata);
  const bad = { ...pd, oldRoot: replayed.root, chunks: [transferChunk(1, 2, 0, encodeFloat(FLOAT40, 10n ** 19n), 0n), pd.chunks[1]] };
  const before = replayed.root;
  expect(() => replayBatch(replayed, { pubdata: bad, records: [] })).toThrow(ReplayError);
  try {
    replayBatch(replayed, { pubdata: bad, records: [] });
  } catch (e) {
    expect((e as ReplayError).section).toBe("l2");
    expect((e as ReplayError).slot).toBe(0);
    expect((e as ReplayError).code).toBe("insufficient_balance");
  }
  expect(replayed.root).toBe(before);
});

test("proofFromSolidity inverts proofToSolidity (each B pair swapped back)", () => {
  const p = { pi_a: ["1", "2", "1"], pi_b: [["3", "4"], ["5", "6"], ["1", "0"]], pi_c: ["7", "8", "1"], protocol: "groth16", curve: "bn128" };
  const sol = proofToSolidity(p);
  expect(sol).toEqual([1n, 2n, 4n, 3n, 6n, 5n, 7n, 8n]);
  expect(proofFromSolidity(sol)).toEqual(p);
});
