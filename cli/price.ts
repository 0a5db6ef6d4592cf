/**
 * Limit prices of orders (PROTOCOL.md §4.5): an order carries no price, only `amount` (base) and
 * `quoteAmount` (quote for the whole amount at the limit), both float40. `--price P` is turned into
 * quoteAmount = amount × P, which must come out a whole, representable number; when it does not,
 * the error lists the nearest values that work. Pure and light (no EdDSA), so argument errors answer at once.
 */
import { FLOAT40, floorToFloat, tryEncodeFloat } from "../core/float";
import { UsageError } from "./args";

import { MAX_ORDER_AMOUNT } from "../core/params";
import { limitPrice } from "../sequencer/matching/price";

export { MAX_ORDER_AMOUNT };
const MAX_MANTISSA = 1n << BigInt(FLOAT40.mantissaBits);

/** A positive rational num/den in lowest terms: quote units per base unit. */
export interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
}

/** num/den in lowest terms (the engine's own reduction: limitPrice(quote, base)). */
function reduce(num: bigint, den: bigint): Ratio {
  return limitPrice(num, den);
}

const PRICE = /^([0-9]+)(?:\.([0-9]+))?$/;

/** A decimal price such as "0.000000002" (quote base units per base base unit), exactly. */
export function parsePrice(s: string, name = "price"): Ratio {
  if (/^[0-9.]+e[-+]?[0-9]+$/i.test(s)) throw new UsageError(`--${name} must be written out in digits (e.g. 0.000000002), got ${s}`);
  const m = PRICE.exec(s);
  if (!m || s.length > 80) throw new UsageError(`--${name} must be a positive decimal number such as 0.000000002 (quote base units per base unit), got ${JSON.stringify(s)}`);
  const frac = m[2] ?? "";
  const num = BigInt(m[1] + frac);
  if (num === 0n) throw new UsageError(`--${name} must be positive, got ${s}`);
  return reduce(num, 10n ** BigInt(frac.length));
}

/** num/den as a decimal with at most `digits` fraction digits (truncated), trailing zeros trimmed: the API's `price` form. */
export function formatRatio(num: bigint, den: bigint, digits = 18): string {
  const neg = num < 0n !== den < 0n && num !== 0n;
  const n = num < 0n ? -num : num;
  const d = den < 0n ? -den : den;
  const scale = 10n ** BigInt(digits);
  const scaled = (n * scale) / d;
  const frac = (scaled % scale).toString().padStart(digits, "0").replace(/0+$/, "");
  const int = (scaled / scale).toString();
  return (neg ? "-" : "") + (frac ? `${int}.${frac}` : int);
}

/** The order's limit price as the API prints it: quoteAmount / amount. */
export function priceOf(quoteAmount: bigint, amount: bigint): string {
  return formatRatio(quoteAmount, amount);
}

/** The smallest float40-representable value ≥ `value`. */
export function ceilToFloat40(value: bigint): bigint {
  if (isFloat40(value)) return value;
  // floorToFloat gives m·10^e with the smallest e that fits; (m+1)·10^e is the next value up,
  // unless m+1 = 2^35, which no exponent represents: go on from there.
  let m = value;
  let e = 0n;
  while (m >= MAX_MANTISSA) {
    m /= 10n;
    e += 1n;
  }
  const next = (m + 1n) * 10n ** e;
  return isFloat40(next) ? next : ceilToFloat40(next);
}

export function isFloat40(v: bigint): boolean {
  return tryEncodeFloat(FLOAT40, v) !== null;
}

const FLOAT40_RULE = "float40: m·10^e with m < 2^35";

/** An order amount (base or quote): 1..2^120-1 and float40; the error names the nearest amounts that work. */
export function checkOrderAmount(v: bigint, option: string): void {
  if (v === 0n) throw new UsageError(`--${option} must be positive`);
  if (v > MAX_ORDER_AMOUNT) throw new UsageError(`--${option} must be below 2^120, got ${v}`);
  if (!isFloat40(v)) {
    const lo = floorToFloat(FLOAT40, v);
    const hi = ceilToFloat40(v);
    throw new UsageError(
      `--${option} ${v} is not representable on L2 (${FLOAT40_RULE}); the nearest representable values are ${lo} and ${hi}`,
    );
  }
}

/**
 * quoteAmount for `amount` base at `price`, exactly. Throws a UsageError when amount × price is not
 * a whole number or not float40, listing the nearest --quote-amount values (with their prices) and,
 * for a fractional result, the base amounts that make the price exact.
 */
export function quoteAmountAt(amount: bigint, price: Ratio, priceText: string): bigint {
  const exact = amount * price.num;
  const q = exact / price.den;
  const whole = exact % price.den === 0n;
  if (whole && q > 0n && q <= MAX_ORDER_AMOUNT && isFloat40(q)) return q;

  const candidates: bigint[] = [];
  const lower = floorToFloat(FLOAT40, q);
  if (lower > 0n) candidates.push(lower);
  const upper = ceilToFloat40(whole ? q : q + 1n);
  if (upper <= MAX_ORDER_AMOUNT && upper !== lower) candidates.push(upper);
  const quotes = candidates.map((c) => `--quote-amount ${c} (price ${priceOf(c, amount)})`).join(" or ");
  const instead = quotes ? `; nearest that work: ${quotes}` : "";

  if (!whole) {
    const value = formatRatio(exact, price.den);
    // amount × num / den is whole iff amount is a multiple of den (num and den are coprime).
    const step = price.den;
    const amounts = nearAmounts(amount, step, price).map((a) => `--amount ${a}`);
    return fail(
      `--amount ${amount} at --price ${priceText} is ${value} quote units, not a whole number` +
        `${instead}${amounts.length ? `; or keep the price with ${amounts.join(" or ")}` : `; or keep the price with an --amount that is a multiple of ${step}`}`,
    );
  }
  if (q === 0n) return fail(`--amount ${amount} at --price ${priceText} is 0 quote units; raise the amount or the price`);
  if (q > MAX_ORDER_AMOUNT) return fail(`--amount ${amount} at --price ${priceText} is ${q} quote units, above the order limit 2^120-1`);
  return fail(`--amount ${amount} at --price ${priceText} is ${q} quote units, which is not representable on L2 (${FLOAT40_RULE})${instead}`);
}

function fail(message: string): never {
  throw new UsageError(message);
}

/** Base amounts near `amount`, multiples of `step`, for which both amounts are float40 (at most one each side). */
function nearAmounts(amount: bigint, step: bigint, price: Ratio): bigint[] {
  const ok = (a: bigint): boolean => a > 0n && a <= MAX_ORDER_AMOUNT && isFloat40(a) && isFloat40((a * price.num) / price.den) && (a * price.num) / price.den > 0n;
  const out: bigint[] = [];
  const down = (amount / step) * step;
  const up = down + step;
  // A multiple of a power of ten times `step` keeps float40 happy; look a few magnitudes around.
  for (const [start, dir] of [[down, -1n], [up, 1n]] as const) {
    let a = start;
    for (let i = 0; i < 64 && a > 0n; i++, a += dir * step) {
      if (ok(a)) {
        out.push(a);
        break;
      }
    }
  }
  return out;
}
