/**
 * Batch shapes (PROTOCOL.md §5.5): core's shape helpers, core building and replaying batches of
 * shapes without some slot type, and the sequencer's choice of shape (sequencer/shapes.ts).
 */
import {
  CONFIGS, State, buildBatch, decodePubdata, generatePrivateKey, initCrypto, parseShapeKey, publicKeyOf, replayBatch, shapeKey, shapeOf,
  shapesOf, signMessage, txMessage, validateParams, withShape, QUEUE_REGISTER, type L2Tx, type Params, type QueueRecord, type Shape,
} from "../core";
import { chooseShape, estimateConstraints, shapeCostsFor, type ShapeLoad } from "../sequencer/shapes";

const shape = (depositSlots: number, l2Slots: number, fillSlots: number): Shape => ({ depositSlots, l2Slots, fillSlots });

describe("core: shapes of a deployment", () => {
  const P: Params = { ...CONFIGS.test, shapes: [shapeOf(CONFIGS.test), shape(1, 0, 1), shape(0, 3, 0)] };

  test("keys, the first shape is the params' own, withShape keeps trees and the list", () => {
    expect(shapesOf(CONFIGS.test)).toEqual([shape(1, 2, 1)]);
    expect(shapesOf(P).map(shapeKey)).toEqual(["d1-n2-m1", "d1-n0-m1", "d0-n3-m0"]);
    expect(parseShapeKey("d0-n3-m0")).toEqual(shape(0, 3, 0));
    expect(() => parseShapeKey("d1-n2")).toThrow(/not a batch shape/);
    expect(() => parseShapeKey("d0-n0-m0")).toThrow(/at least one slot/);
    const q = withShape(P, shape(1, 0, 1));
    expect([q.depositSlots, q.l2Slots, q.fillSlots, q.accountLevels, q.feeBuckets]).toEqual([1, 0, 1, P.accountLevels, P.feeBuckets]);
    expect(q.shapes).toEqual(P.shapes);
    expect(() => withShape(P, shape(2, 2, 2))).toThrow(/not one of this deployment's/);
  });

  test("validation: the params' slots are the first shape, no duplicates, some shape takes L1 records", () => {
    expect(() => validateParams(P)).not.toThrow();
    expect(() => validateParams(withShape(P, shape(0, 3, 0)))).not.toThrow();
    expect(() => validateParams({ ...P, shapes: [shape(1, 0, 1), shape(0, 3, 0)] })).toThrow(/not one of its shapes/);
    expect(() => validateParams({ ...P, shapes: [shapeOf(CONFIGS.test), shapeOf(CONFIGS.test)] })).toThrow(/listed twice/);
    expect(() => validateParams({ ...CONFIGS.test, depositSlots: 0, shapes: [shape(0, 2, 1)] })).toThrow(/no shape has an L1-queue slot/);
    expect(() => validateParams({ ...P, shapes: [shapeOf(CONFIGS.test), shape(1, -1, 1)] })).toThrow(/integer in 0..65536/);
  });

  test("core builds and replays batches of shapes without transfer slots or without fill and L1 slots", async () => {
    await initCrypto();
    const state = new State(P);
    const chainId = 31337;
    const rollup = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
    const keys = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
    const regs: QueueRecord[] = keys.map((k, id) => ({ kind: QUEUE_REGISTER, accountId: id, token: 1, amount: 1_000n, ...publicKeyOf(k) }));
    let queueHash = 0n;
    const mirror = new State(P);
    let mirrorQueue = 0n;
    const replayOf = (r: ReturnType<typeof buildBatch>, records: QueueRecord[]) => {
      const pd = decodePubdata(withShape(P, r.shape), r.pubdata);
      const out = replayBatch(mirror, { pubdata: pd, records });
      expect(out.newRoot).toBe(r.newRoot);
      expect(out.publicInput).toBe(r.publicInput);
      mirrorQueue = out.queueHashAfter;
    };
    // Three registrations through the one-L1-slot shape without transfer slots.
    for (const reg of regs) {
      const r = buildBatch(state, { chainId, rollup, timestamp: 1_000, queueHashBefore: queueHash, deposits: [reg], txs: [], shape: shape(1, 0, 1) });
      expect(r.shape).toEqual(shape(1, 0, 1));
      expect(r.chunks).toHaveLength(0);
      expect(r.fillChunks).toHaveLength(1);
      queueHash = r.queueHashAfter;
      replayOf(r, [reg]);
    }
    expect(mirrorQueue).toBe(queueHash);
    // Transfers through the shape without L1 or fill slots.
    const transfer = (from: number, to: number, nonce: bigint): L2Tx => {
      const tx = { type: "transfer" as const, from, to, token: 1, amount: 10n, fee: 0n, nonce, validUntil: 2_000, signature: { r8x: 0n, r8y: 0n, s: 0n } };
      return { ...tx, signature: signMessage(keys[from], txMessage(tx, { chainId, rollup })) };
    };
    const r = buildBatch(state, { chainId, rollup, timestamp: 1_001, queueHashBefore: queueHash, deposits: [], txs: [transfer(1, 2, 0n), transfer(2, 1, 0n)], shape: shape(0, 3, 0) });
    expect([r.chunks.length, r.fillChunks.length, r.forcedExits.length]).toEqual([3, 0, 0]);
    expect(state.account(1).nonce).toBe(1n);
    replayOf(r, []);
    // More than a shape holds is refused; a replay of public data of no configured shape too.
    expect(() => buildBatch(state, { chainId, rollup, timestamp: 1_002, queueHashBefore: queueHash, deposits: [regs[0]], txs: [], shape: shape(0, 3, 0) })).toThrow(/at most 0 queue records/);
    const foreign = decodePubdata(withShape({ ...P, shapes: [...P.shapes!, shape(0, 1, 0)] }, shape(0, 1, 0)), new Uint8Array(decodePubdataLength(P, shape(0, 1, 0))));
    expect(() => replayBatch(mirror, { pubdata: foreign, records: [] })).toThrow(/shape d0-n1-m0 is not one of this deployment's/);
  });
});

/** Bytes of the public data of a batch of shape s (header, fee tokens, bitmap, chunks, forced exits). */
function decodePubdataLength(p: Params, s: Shape): number {
  return 156 + p.feeBuckets + Math.ceil(s.l2Slots / 8) + 15 * s.l2Slots + 51 * s.fillSlots + 16 * s.depositSlots;
}

describe("sequencer: choosing the shape to cut", () => {
  const small = { shape: shape(1, 1, 1), constraints: 100 };
  const fills = { shape: shape(1, 1, 4), constraints: 300 };
  const transfers = { shape: shape(2, 8, 0), constraints: 250 };
  const load = (cost: ShapeLoad["cost"], operations: number, records: number): ShapeLoad => ({ cost, operations, records });

  test("quiet: the cheapest shape that holds everything waiting", () => {
    // one fill and one record waiting: every shape holds them, the small one is cheapest
    const pick = chooseShape({ loads: [load(fills, 1, 1), load(small, 1, 1), load(transfers, 0, 1)], pendingOperations: 1, queuedRecords: 1, queueDue: false });
    expect(pick?.cost).toBe(small);
  });

  test("busy: the most carried per constraint; no constraints spent on a slot type nothing waits for", () => {
    // 10 fills waiting: small carries 1 per 100, fills 4 per 300, transfers none
    expect(chooseShape({ loads: [load(small, 1, 0), load(fills, 4, 0), load(transfers, 0, 0)], pendingOperations: 10, queuedRecords: 0, queueDue: false })?.cost).toBe(fills);
    // 20 transfers: 8 per 250 beats 1 per 100 and 1 per 300
    expect(chooseShape({ loads: [load(small, 1, 0), load(fills, 1, 0), load(transfers, 8, 0)], pendingOperations: 20, queuedRecords: 0, queueDue: false })?.cost).toBe(transfers);
    // a tie in carried per constraint goes to the smaller circuit
    const twice = { shape: shape(2, 2, 2), constraints: 200 };
    expect(chooseShape({ loads: [load(twice, 2, 0), load(small, 1, 0)], pendingOperations: 9, queuedRecords: 0, queueDue: false })?.cost).toBe(small);
    // a fixed cost per batch breaks the tie for the larger batch: 2 per 200 + 50 beats 1 per 100 + 50
    expect(chooseShape({ loads: [load(twice, 2, 0), load(small, 1, 0)], pendingOperations: 9, queuedRecords: 0, queueDue: false, batchOverhead: 50 })?.cost).toBe(twice);
    // and it never changes the quiet choice: the cheapest shape holding everything
    expect(chooseShape({ loads: [load(twice, 2, 0), load(small, 2, 0)], pendingOperations: 2, queuedRecords: 0, queueDue: false, batchOverhead: 50 })?.cost).toBe(small);
  });

  test("queue records that are due rule out shapes without L1 slots; nothing to carry is no batch", () => {
    const noL1 = { shape: shape(0, 8, 0), constraints: 200 };
    const loads = [load(noL1, 8, 0), load(small, 1, 1)];
    expect(chooseShape({ loads, pendingOperations: 20, queuedRecords: 1, queueDue: false })?.cost).toBe(noL1);
    expect(chooseShape({ loads, pendingOperations: 20, queuedRecords: 1, queueDue: true })?.cost).toBe(small);
    expect(chooseShape({ loads: [load(small, 0, 0), load(noL1, 0, 0)], pendingOperations: 0, queuedRecords: 0, queueDue: false })).toBeNull();
  });

  test("costs: measured where given, estimated otherwise, only for the deployment's shapes", () => {
    const P: Params = { ...CONFIGS.default, shapes: [shapeOf(CONFIGS.default), shape(1, 1, 2)] };
    const costs = shapeCostsFor(P, [{ shape: shape(1, 1, 2), constraints: 251_000 }]);
    expect(costs).toEqual([{ shape: shapeOf(CONFIGS.default), constraints: estimateConstraints(shapeOf(CONFIGS.default)) }, { shape: shape(1, 1, 2), constraints: 251_000 }]);
    expect(() => shapeCostsFor(P, [{ shape: shape(3, 3, 3), constraints: 1 }])).toThrow(/not one of the deployment's/);
    // the estimate orders shapes as their circuits do: a fill slot costs more than a transfer slot, which costs more than an L1 slot
    expect(estimateConstraints(shape(0, 0, 1))).toBeGreaterThan(estimateConstraints(shape(0, 1, 0)));
    expect(estimateConstraints(shape(0, 1, 0))).toBeGreaterThan(estimateConstraints(shape(1, 0, 0)));
  });
});
