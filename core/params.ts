/** Build-time parameters of a Modex deployment (PROTOCOL.md §1). */

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
  default: { accountLevels: 4, balanceLevels: 2, orderLevels: 2, depositSlots: 2, l2Slots: 4, fillSlots: 1, feeBuckets: 2 },
  production: { accountLevels: 8, balanceLevels: 4, orderLevels: 4, depositSlots: 8, l2Slots: 64, fillSlots: 16, feeBuckets: 4 },
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
  const ints = Object.entries(p) as [string, number][];
  for (const [k, v] of ints) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`param ${k} must be a positive integer, got ${v}`);
  }
  if (p.fillSlots === undefined) throw new Error("param fillSlots is missing");
  if (p.accountLevels > 8) throw new Error("accountLevels > 8 exceeds 24-bit account ids");
  if (p.balanceLevels > 4) throw new Error("balanceLevels > 4 exceeds 8-bit token ids");
  // Order ids are 32 bits and select their slot by their low 2·orderLevels bits.
  if (p.orderLevels > 16) throw new Error("orderLevels > 16 exceeds 32-bit order ids");
}

export function paramsKey(p: Params): string {
  return `a${p.accountLevels}-b${p.balanceLevels}-o${p.orderLevels}-d${p.depositSlots}-n${p.l2Slots}-m${p.fillSlots}-f${p.feeBuckets}`;
}
