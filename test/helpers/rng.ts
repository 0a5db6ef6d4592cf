/** mulberry32: a small seeded generator, so a fuzz run is reproduced from its seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** A random amount below 10^digits, often a round number (so float encodings have exponents). */
  amount(digits: number): bigint {
    const v = BigInt(1 + this.int(10 ** Math.min(digits, 9)));
    return this.chance(0.3) ? v * 10n ** BigInt(this.int(4)) : v;
  }
  /** `bytes` random bytes as 0x-hex. */
  hex(bytes: number): string {
    let s = "0x";
    for (let i = 0; i < bytes; i++) s += this.int(256).toString(16).padStart(2, "0");
    return s;
  }
}
