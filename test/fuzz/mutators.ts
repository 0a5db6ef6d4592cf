/**
 * Mutations of a valid batch's circuit input, as a malicious prover would try them. Two kinds:
 *  - blind: one signal set to an edge value (0, 1, ±1, r−1, a power of two, another slot's value);
 *  - crafted: a different but self-consistent witness, rebuilt with core's own op modules where the
 *    Merkle paths must stay right: the L1 records laid out in other slots, a float re-encoded with
 *    another exponent, a fee moved to another bucket, slots swapped, flags toggled.
 * A mutator edits the input in place and returns its label, or null when it does not apply.
 */
import {
  FIELD_MODULUS, FLOAT16, FLOAT40, applyDepositNoop, decodeFloat, depositSlotSignals, executeQueueRecord,
  type CircuitInput, type CircuitValue, type FloatFormat, type QueueRecord, type State,
} from "../../core";
import type { BaseBatch, Rng } from "./scenario";

export interface MutationContext {
  readonly base: BaseBatch;
  /** The state before the base batch (left as it was). */
  readonly shadow: State;
  readonly rng: Rng;
}

export type Mutator = (ctx: MutationContext, input: CircuitInput) => string | null;

type Path = readonly (string | number)[];

/** Every scalar signal of an input (publicInput excluded: the model leaves it unbound). */
export function signalPaths(input: CircuitInput): Path[] {
  const out: Path[] = [];
  const walk = (v: CircuitValue, path: (string | number)[]): void => {
    if (typeof v === "string") out.push(path);
    else v.forEach((x, i) => walk(x, [...path, i]));
  };
  for (const [k, v] of Object.entries(input)) if (k !== "publicInput") walk(v, [k]);
  return out;
}

function get(input: CircuitInput, path: Path): string {
  let v: CircuitValue = input[path[0] as string];
  for (const i of path.slice(1)) v = (v as CircuitValue[])[i as number];
  return v as string;
}

function set(input: CircuitInput, path: Path, value: bigint): void {
  let v: CircuitValue = input[path[0] as string];
  if (path.length === 1) {
    input[path[0] as string] = value.toString();
    return;
  }
  for (const i of path.slice(1, -1)) v = (v as CircuitValue[])[i as number];
  (v as CircuitValue[])[path[path.length - 1] as number] = value.toString();
}

const R = FIELD_MODULUS;

/** One signal set to an edge value. */
export const blindSignal: Mutator = ({ rng }, input) => {
  const paths = signalPaths(input);
  const path = rng.pick(paths);
  const old = BigInt(get(input, path));
  const choices: [string, () => bigint][] = [
    ["0", () => 0n],
    ["1", () => 1n],
    ["+1", () => (old + 1n) % R],
    ["-1", () => (old - 1n + R) % R],
    ["r-1", () => R - 1n],
    ["2^k", () => 1n << BigInt(rng.int(254))],
    ["2^k-1", () => (1n << BigInt(1 + rng.int(253))) - 1n],
    ["small", () => BigInt(rng.int(300))],
    ["other-slot", () => {
      // The same signal of another slot (another index along the first dimension).
      if (path.length < 2) return old;
      const arr = input[path[0] as string] as CircuitValue[];
      const j = rng.int(arr.length);
      return BigInt(get(input, [path[0], j, ...path.slice(2)]));
    }],
  ];
  const [name, value] = rng.pick(choices);
  const v = value();
  if (v === old) return null;
  set(input, path, v);
  return `signal ${path.join(".")} ${name}`;
};

/** The records the base batch consumes, laid out in other L1 slots (gaps, other order), witnesses rebuilt by core. */
export const l1Layout: Mutator = ({ base, shadow, rng }, input) => {
  const d = (input.dep_enabled as string[]).length;
  const records = base.queue.slice(base.consumed, base.consumed + base.batch.depositCount);
  if (records.length === 0) return null;
  const layout: (QueueRecord | null)[] = new Array(d).fill(null);
  const order = rng.chance(0.3) && records.length > 1 ? shuffle(rng, records) : records;
  // Distinct slots in increasing order for the records' sequence, not all a prefix.
  const slots = shuffle(rng, Array.from({ length: d }, (_, i) => i)).slice(0, order.length).sort((a, b) => a - b);
  slots.forEach((s, i) => (layout[s] = order[i]));
  const desc = layout.map((r) => (r ? `k${r.kind}#${r.accountId}/${r.token}` : "_")).join(",");
  if (order === records && slots.every((s, i) => s === i)) return null;
  Object.assign(input, l1Signals(shadow, layout));
  return `l1-layout [${desc}]`;
};

/** dep_* signals for a layout of records, built on the pre-state (left unchanged) without core's rule checks. */
export function l1Signals(shadow: State, layout: readonly (QueueRecord | null)[]): CircuitInput {
  shadow.begin();
  try {
    return depositSlotSignals(layout.map((r) => (r ? executeQueueRecord(shadow, r) : applyDepositNoop(shadow))));
  } finally {
    shadow.rollback();
  }
}

/** Another encoding of the same value (m·10, e−1 or m/10, e+1), when one exists. */
export function reencodeFloat(f: FloatFormat, packed: bigint, rng: Rng): bigint | null {
  const mBits = BigInt(f.mantissaBits);
  const m = packed & ((1n << mBits) - 1n);
  const e = packed >> mBits;
  const options: bigint[] = [];
  if (e > 0n && m * 10n < 1n << mBits) options.push(((e - 1n) << mBits) | (m * 10n));
  if (m % 10n === 0n && e + 1n < 1n << BigInt(f.exponentBits)) options.push(((e + 1n) << mBits) | (m / 10n));
  if (m === 0n && e + 1n < 1n << BigInt(f.exponentBits)) options.push((e + 1n + BigInt(rng.int(3))) << mBits);
  if (options.length === 0) return null;
  const out = rng.pick(options);
  if (decodeFloat(f, out) !== decodeFloat(f, packed)) throw new Error("reencodeFloat changed the value");
  return out;
}

const FLOAT_SIGNALS: readonly [string, FloatFormat][] = [
  ["l2_amountF", FLOAT40], ["l2_feeF", FLOAT16], ["fill_sellFeeF", FLOAT16], ["fill_buyFeeF", FLOAT16],
  ["fill_so_amountF", FLOAT40], ["fill_so_quoteAmountF", FLOAT40], ["fill_bo_amountF", FLOAT40], ["fill_bo_quoteAmountF", FLOAT40],
];

export const floatEncoding: Mutator = ({ rng }, input) => {
  const [name, f] = rng.pick(FLOAT_SIGNALS);
  const arr = input[name] as string[];
  const i = rng.int(arr.length);
  const v = reencodeFloat(f, BigInt(arr[i]), rng);
  if (v === null) return null;
  arr[i] = v.toString();
  return `float ${name}.${i} ${v}`;
};

/** A fee selector moved to another bucket, or a bucket's token changed. */
export const feeBucket: Mutator = ({ rng }, input) => {
  const feeTokens = input.feeTokens as string[];
  if (rng.chance(0.3)) {
    const b = rng.int(feeTokens.length);
    const t = BigInt(rng.int(5));
    if (BigInt(feeTokens[b]) === t) return null;
    feeTokens[b] = t.toString();
    return `fee-bucket feeTokens.${b} = ${t}`;
  }
  const name = rng.pick(["l2_feeSel", "fill_sellFeeSel", "fill_buyFeeSel"]);
  const rows = input[name] as string[][];
  const row = rows[rng.int(rows.length)];
  const from = row.indexOf("1");
  const to = rng.int(row.length);
  if (from >= 0 && rng.chance(0.5)) row[from] = "0";
  else if (from === to) return null;
  row[to] = "1";
  return `fee-bucket ${name} ${from}→${to}`;
};

/** Two slots of one section swapped, every signal of the slot. */
export const swapSlots: Mutator = ({ rng }, input) => {
  const prefix = rng.pick(["dep_", "l2_", "fill_"]);
  const keys = Object.keys(input).filter((k) => k.startsWith(prefix));
  const n = (input[keys[0]] as CircuitValue[]).length;
  if (n < 2) return null;
  const i = rng.int(n);
  const j = (i + 1 + rng.int(n - 1)) % n;
  for (const k of keys) {
    const arr = input[k] as CircuitValue[];
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return `swap ${prefix}${i}<->${j}`;
};

/** A flag or type toggled: enabled, isNew, isExit, isFill, opType. */
export const toggleFlag: Mutator = ({ rng }, input) => {
  const name = rng.pick(["dep_enabled", "dep_isNew", "dep_isExit", "fill_isFill", "l2_opType"]);
  const arr = input[name] as string[];
  const i = rng.int(arr.length);
  const old = arr[i];
  const next = name === "l2_opType" ? rng.pick(["0", "2", "3"]) : old === "0" ? "1" : "0";
  if (next === old) return null;
  arr[i] = next;
  return `toggle ${name}.${i} ${old}→${next}`;
};

function shuffle<T>(rng: Rng, xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Mutators and their weights: crafted ones are the likelier to pass the circuit. */
export const MUTATORS: readonly [Mutator, number][] = [
  [blindSignal, 40],
  [l1Layout, 20],
  [floatEncoding, 20],
  [feeBucket, 10],
  [swapSlots, 5],
  [toggleFlag, 5],
];

export function pickMutator(rng: Rng): Mutator {
  const total = MUTATORS.reduce((s, [, w]) => s + w, 0);
  let x = rng.next() * total;
  for (const [m, w] of MUTATORS) {
    if ((x -= w) < 0) return m;
  }
  return MUTATORS[0][0];
}
