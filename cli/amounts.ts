/** L2 amount rules a client checks before signing (PROTOCOL.md §3): float40 amounts, float16 fees, below 2^128. */
import { MAX_U128 } from "../core/field";
import { FLOAT16, FLOAT40, floorToFloat, tryEncodeFloat, type FloatFormat } from "../core/float";

/** An amount no float encoding represents; `suggestion` is the nearest lower one that works. */
export class AmountNotRepresentableError extends RangeError {
  readonly suggestion: bigint;
  constructor(what: string, value: bigint, f: FloatFormat) {
    const suggestion = floorToFloat(f, value);
    super(
      `${what} ${value} is not representable on L2 (${f.name}: m·10^e with m < 2^${f.mantissaBits}); ` +
        `the nearest lower representable ${what} is ${suggestion}`,
    );
    this.name = "AmountNotRepresentableError";
    this.suggestion = suggestion;
  }
}

/** Throws a RangeError unless `amount` (float40) and `fee` (float16) encode exactly and fit 128 bits. */
export function checkL2Amounts(amount: bigint, fee: bigint): void {
  for (const [what, v, f] of [["amount", amount, FLOAT40], ["fee", fee, FLOAT16]] as const) {
    if (v < 0n || v > MAX_U128) throw new RangeError(`${what} ${v} is outside 0..2^128-1`);
    if (tryEncodeFloat(f, v) === null) throw new AmountNotRepresentableError(what, v, f);
  }
}
