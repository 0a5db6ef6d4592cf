/** Build-time parameters of a Modex deployment (PROTOCOL.md §1). */

/**
 * A batch shape (PROTOCOL.md §5.5): the slot counts of one batch circuit. A deployment proves
 * batches of several shapes, each its own circuit, keys and verifier, on the same trees: the
 * sequencer cuts the shape that fits what is pending, so no slot type is proven empty for nothing.
 */
export interface Shape {
  /** L1-queue slots (D). */
  readonly depositSlots: number;
  /** Transfer/withdraw slots (N). */
  readonly l2Slots: number;
  /** Order-fill slots (M). */
  readonly fillSlots: number;
}

export interface Params {
  /** Levels of the arity-8 account tree: 8^accountLevels accounts. */
  readonly accountLevels: number;
  /** Levels of each arity-4 balance tree: 4^balanceLevels token ids. */
  readonly balanceLevels: number;
  /** Levels of each arity-4 order-fill tree. */
  readonly orderLevels: number;
  /** L1-queue slots per batch (D). */
  readonly depositSlots: number;
  /** Transfer/withdraw slots per batch (N). */
  readonly l2Slots: number;
  /** Order-fill slots per batch (M). */
  readonly fillSlots: number;
  /** Distinct fee tokens per batch (F). */
  readonly feeBuckets: number;
  /**
   * Every batch shape of the deployment (PROTOCOL.md §5.5), the one above first. Absent: that one
   * only. The slot counts above are the shape of the batch or circuit at hand (`withShape`).
   */
  readonly shapes?: readonly Shape[];
}

export const ACCOUNT_ARITY = 8;
export const BALANCE_ARITY = 4;
export const ORDER_ARITY = 4;
/** Bytes of one L2 slot's public data. */
export const CHUNK_BYTES = 15;
/** Bytes of one fill slot's public data. */
export const FILL_CHUNK_BYTES = 51;
/** Bytes of one L1 slot's forced-exit amount in the public data (u128). */
export const FORCED_EXIT_BYTES = 16;
/** Order amounts, fill amounts and filled counters are below 2^120, so products stay below 2^240 (PROTOCOL.md §4.5). */
export const AMOUNT_BITS = 120;
export const MAX_ORDER_AMOUNT = (1n << BigInt(AMOUNT_BITS)) - 1n;
/** An order's fee cap is at most 100%. */
export const MAX_FEE_BIPS = 10_000;

export const CONFIGS = {
  test: { accountLevels: 2, balanceLevels: 1, orderLevels: 1, depositSlots: 1, l2Slots: 2, fillSlots: 1, feeBuckets: 2 },
  // Three shapes (PERFORMANCE.md, Batch shapes): transfers (4 + 2 L1 + 2 fills, 255,752) and trades
  // (3 fills + 2 transfers + 1 L1, 246,339) under 2^18 for throughput, and one of each slot (115,522)
  // under 2^17 for latency when little is waiting: half the proving domain.
  default: {
    accountLevels: 4, balanceLevels: 2, orderLevels: 2, depositSlots: 2, l2Slots: 4, fillSlots: 2, feeBuckets: 2,
    shapes: [{ depositSlots: 2, l2Slots: 4, fillSlots: 2 }, { depositSlots: 1, l2Slots: 2, fillSlots: 3 }, { depositSlots: 1, l2Slots: 1, fillSlots: 1 }],
  },
  // Production trees (2^24 accounts, 2^8 tokens, 2^8 order slots) in shapes that each compile well
  // inside circom2's 4 GB WebAssembly memory and prove in a 2^19 domain (PERFORMANCE.md, Production
  // config): 8 L1 + 6 L2 + 1 fill, and 2 L1 + 4 L2 + 4 fills. A batch of 64 L2 and 16 fill slots (about
  // 3M constraints) cannot be compiled there; throughput beyond one batch comes from proving several
  // batches at once on several workers.
  production: {
    accountLevels: 8, balanceLevels: 4, orderLevels: 4, depositSlots: 8, l2Slots: 6, fillSlots: 1, feeBuckets: 4,
    shapes: [{ depositSlots: 8, l2Slots: 6, fillSlots: 1 }, { depositSlots: 2, l2Slots: 4, fillSlots: 4 }],
  },
} as const satisfies Record<string, Params>;

export type ConfigName = keyof typeof CONFIGS;

export function configByName(name: string): Params {
  if (!(name in CONFIGS)) {
    throw new Error(`unknown config "${name}" (expected one of: ${Object.keys(CONFIGS).join(", ")})`);
  }
  return CONFIGS[name as ConfigName];
}

export function maxAccounts(p: Params): number {
  return ACCOUNT_ARITY ** p.accountLevels;
}

/** Token ids are one byte on the wire and index the balance tree. */
export function maxTokens(p: Params): number {
  return Math.min(BALANCE_ARITY ** p.balanceLevels, 256);
}

export function validateParams(p: Params): void {
  for (const k of ["accountLevels", "balanceLevels", "orderLevels", "feeBuckets"] as const) {
    const v = p[k];
    if (!Number.isInteger(v) || v < 1) throw new Error(`param ${k} must be a positive integer, got ${v}`);
  }
  const shapes = shapesOf(p);
  for (const s of shapes) validateShape(s);
  if (!shapes.some((s) => s.depositSlots > 0)) throw new Error("no shape has an L1-queue slot: deposits and forced exits could never be processed");
  const keys = new Set(shapes.map(shapeKey));
  if (keys.size !== shapes.length) throw new Error("a shape is listed twice");
  // p describes the deployment (its first shape) or one batch of it (withShape): either way one of its shapes.
  if (!keys.has(shapeKey(p))) throw new Error(`the parameters' slot counts (${shapeKey(p)}) are not one of its shapes (${shapes.map(shapeKey).join(", ")})`);
  if (p.accountLevels > 8) throw new Error("accountLevels > 8 exceeds 24-bit account ids");
  if (p.balanceLevels > 4) throw new Error("balanceLevels > 4 exceeds 8-bit token ids");
  // Order ids are 32 bits and select their slot by their low 2·orderLevels bits.
  if (p.orderLevels > 16) throw new Error("orderLevels > 16 exceeds 32-bit order ids");
}

export function paramsKey(p: Params): string {
  return `a${p.accountLevels}-b${p.balanceLevels}-o${p.orderLevels}-d${p.depositSlots}-n${p.l2Slots}-m${p.fillSlots}-f${p.feeBuckets}`;
}

/** The slot counts of one shape: each an integer in 0..65536, at least one slot in all. */
export function validateShape(s: Shape): void {
  for (const k of ["depositSlots", "l2Slots", "fillSlots"] as const) {
    const v = s[k];
    if (!Number.isInteger(v) || v < 0 || v > 65_536) throw new Error(`shape ${k} must be an integer in 0..65536, got ${v}`);
  }
  if (s.depositSlots + s.l2Slots + s.fillSlots === 0) throw new Error("a shape needs at least one slot");
}

/** The slot counts of p itself: the shape of the batch or circuit p describes. */
export function shapeOf(p: Shape): Shape {
  return { depositSlots: p.depositSlots, l2Slots: p.l2Slots, fillSlots: p.fillSlots };
}

/** Every shape of the deployment, its first (p's own slot counts) first. */
export function shapesOf(p: Params): readonly Shape[] {
  return p.shapes && p.shapes.length > 0 ? p.shapes : [shapeOf(p)];
}

/** p for a batch of shape s: the same trees and fee buckets, s's slot counts, the same shape list. */
export function withShape(p: Params, s: Shape): Params {
  if (!shapesOf(p).some((x) => shapeKey(x) === shapeKey(s))) throw new Error(`shape ${shapeKey(s)} is not one of this deployment's (${shapesOf(p).map(shapeKey).join(", ")})`);
  return { ...p, ...shapeOf(s), shapes: shapesOf(p) };
}

/** "d2-n4-m1": D L1-queue slots, N transfer/withdraw slots, M fill slots. */
export function shapeKey(s: Shape): string {
  return `d${s.depositSlots}-n${s.l2Slots}-m${s.fillSlots}`;
}

/** The inverse of shapeKey; throws on anything else. */
export function parseShapeKey(key: string): Shape {
  const m = /^d(\d+)-n(\d+)-m(\d+)$/.exec(key);
  if (!m) throw new Error(`not a batch shape: ${JSON.stringify(key)} (expected d<D>-n<N>-m<M>)`);
  const s = { depositSlots: Number(m[1]), l2Slots: Number(m[2]), fillSlots: Number(m[3]) };
  validateShape(s);
  return s;
}
