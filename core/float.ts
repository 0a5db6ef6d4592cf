/**
 * Decimal floats used for L2 amounts (float40) and fees (float16): value = m · 10^e.
 * Encoding picks the smallest exponent that represents the value exactly.
 */

export interface FloatFormat {
  readonly name: string;
  readonly mantissaBits: number;
  readonly exponentBits: number;
}

export const FLOAT40: FloatFormat = { name: "float40", mantissaBits: 35, exponentBits: 5 };
export const FLOAT16: FloatFormat = { name: "float16", mantissaBits: 11, exponentBits: 5 };

export function decodeFloat(f: FloatFormat, packed: bigint): bigint {
  const total = BigInt(f.mantissaBits + f.exponentBits);
  if (packed < 0n || packed >= 1n << total) throw new RangeError(`${f.name}: packed value out of range`);
  const m = packed & ((1n << BigInt(f.mantissaBits)) - 1n);
  const e = packed >> BigInt(f.mantissaBits);
  return m * 10n ** e;
}

/** Returns the packed encoding, or null if no encoding represents `value` exactly. */
export function tryEncodeFloat(f: FloatFormat, value: bigint): bigint | null {
  if (value < 0n) return null;
  const maxM = 1n << BigInt(f.mantissaBits);
  const maxE = (1n << BigInt(f.exponentBits)) - 1n;
  let m = value;
  let e = 0n;
  while (m >= maxM) {
    if (m % 10n !== 0n || e === maxE) return null;
    m /= 10n;
    e += 1n;
  }
  return (e << BigInt(f.mantissaBits)) | m;
}

export function encodeFloat(f: FloatFormat, value: bigint): bigint {
  const p = tryEncodeFloat(f, value);
  if (p === null) throw new RangeError(`${value} is not exactly representable as ${f.name}`);
  return p;
}

/** The largest representable value ≤ `value` (used to suggest a valid amount to a user). */
export function floorToFloat(f: FloatFormat, value: bigint): bigint {
  const maxM = 1n << BigInt(f.mantissaBits);
  let m = value;
  let e = 0n;
  while (m >= maxM) {
    m /= 10n;
    e += 1n;
  }
  return m * 10n ** e;
}
