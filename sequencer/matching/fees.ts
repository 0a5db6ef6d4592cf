/**
 * Fee computation: rate = min(market rate for the order's role, the order's signed maximum), and
 * fee = floor(received · rate / 10 000) rounded down to a float16 value, so it is encodable in the
 * fill's public data and never above what the owner signed.
 */
import { FLOAT16, floorToFloat, tryEncodeFloat } from "../../core/float";

export const BIPS_DENOMINATOR = 10_000n;

/** The largest float16 value: (2^11 − 1) · 10^31. */
const MAX_FLOAT16 = ((1n << BigInt(FLOAT16.mantissaBits)) - 1n) * 10n ** ((1n << BigInt(FLOAT16.exponentBits)) - 1n);

export function feeRate(marketBips: number, orderMaxBips: number): number {
  return Math.min(marketBips, orderMaxBips);
}

export function feeOn(received: bigint, rateBips: number): bigint {
  if (rateBips <= 0 || received <= 0n) return 0n;
  const exact = (received * BigInt(rateBips)) / BIPS_DENOMINATOR;
  const floored = floorToFloat(FLOAT16, exact);
  // floorToFloat does not cap the exponent at 31; above the float16 range it yields an
  // unencodable value, so clamp to the largest encodable one (still ≤ exact).
  return tryEncodeFloat(FLOAT16, floored) === null ? MAX_FLOAT16 : floored;
}
