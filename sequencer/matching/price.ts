/**
 * Exact rational prices (quote units per base unit). Every comparison cross-multiplies bigints;
 * nothing here ever goes through a float.
 */
import type { OrderSide } from "../../core/ops/types";

/** A reduced fraction num/den with num, den > 0. */
export interface Price {
  readonly num: bigint;
  readonly den: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** The limit price of an order for `amount` base at `quoteAmount` quote, reduced. */
export function limitPrice(quoteAmount: bigint, amount: bigint): Price {
  const g = gcd(quoteAmount, amount);
  return { num: quoteAmount / g, den: amount / g };
}

/** Sign of a − b. */
export function comparePrices(a: Price, b: Price): number {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** A buy at `buy` and a sell at `sell` can trade iff the buyer pays at least what the seller asks. */
export function crosses(buy: Price, sell: Price): boolean {
  return buy.num * sell.den >= sell.num * buy.den;
}

export function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/**
 * Quote for `base` at the maker's price, rounded in the maker's favour: a selling maker receives
 * ceil, a buying maker pays floor. Crossing prices make this satisfy both orders' limits.
 */
export function makerQuote(makerSide: OrderSide, base: bigint, makerPrice: Price): bigint {
  const x = base * makerPrice.num;
  return makerSide === "sell" ? ceilDiv(x, makerPrice.den) : x / makerPrice.den;
}

/** What a buy order must hold back in quote for `remaining` base: the most it can pay for it. */
export function buyReservation(remaining: bigint, price: Price): bigint {
  return ceilDiv(remaining * price.num, price.den);
}

/** The protocol's limit inequalities (the circuit's): q·Bs + Bs − 1 ≥ b·Qs and q·Bb ≤ b·Qb + Bb − 1. */
export function fillWithinLimits(
  sell: { readonly amount: bigint; readonly quoteAmount: bigint },
  buy: { readonly amount: bigint; readonly quoteAmount: bigint },
  base: bigint,
  quote: bigint,
): boolean {
  return (
    quote * sell.amount + sell.amount - 1n >= base * sell.quoteAmount &&
    quote * buy.amount <= base * buy.quoteAmount + buy.amount - 1n
  );
}

/** num/den in decimal, rounded half up to `decimals` fraction digits, trailing zeros dropped. */
export function formatPrice(p: Price, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const scaled = (p.num * scale * 2n + p.den) / (2n * p.den);
  const int = scaled / scale;
  if (decimals === 0) return int.toString();
  const frac = (scaled % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  return frac === "" ? int.toString() : `${int}.${frac}`;
}

/** Map key of a reduced price. */
export function priceKey(p: Price): string {
  return `${p.num}/${p.den}`;
}
