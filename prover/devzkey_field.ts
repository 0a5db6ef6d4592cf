/**
 * BN254 scalar field arithmetic on bigint, just enough for the development setup:
 * modular ops, batch inversion, the 2^k-th roots of unity exactly as ffjavascript
 * (and therefore snarkjs' FFTs) chooses them, and 32-byte little-endian encodings.
 */
import { randomBytes } from "node:crypto";

export const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** Montgomery constant of snarkjs' Fr (n8 = 32): 2^256 mod r. */
export const MONT_R = (1n << 256n) % R;
export const MONT_R2 = (MONT_R * MONT_R) % R;

export function mod(a: bigint): bigint {
  const m = a % R;
  return m < 0n ? m + R : m;
}

export function pow(base: bigint, e: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  while (e > 0n) {
    if (e & 1n) result = (result * b) % R;
    b = (b * b) % R;
    e >>= 1n;
  }
  return result;
}

export function inv(a: bigint): bigint {
  if (mod(a) === 0n) throw new Error("inverse of zero");
  return pow(a, R - 2n);
}

/** In-place batch inversion (Montgomery's trick); throws on a zero element. */
export function batchInverse(xs: bigint[]): void {
  const n = xs.length;
  if (n === 0) return;
  const prefix: bigint[] = new Array<bigint>(n);
  let acc = 1n;
  for (let i = 0; i < n; i++) {
    prefix[i] = acc;
    acc = (acc * xs[i]) % R;
  }
  let invAcc = inv(acc);
  for (let i = n - 1; i >= 0; i--) {
    const x = xs[i];
    xs[i] = (invAcc * prefix[i]) % R;
    invAcc = (invAcc * x) % R;
  }
}

/** Uniform random non-zero field element from the OS CSPRNG. */
export function randomNonZero(): bigint {
  for (;;) {
    const x = bytesToBigLE(randomBytes(64)) % R;
    if (x !== 0n) return x;
  }
}

let rootsCache: bigint[] | null = null;

/**
 * roots[k] is the 2^k-th root of unity ffjavascript uses: nqr = the smallest quadratic
 * non-residue starting from 2, roots[s] = nqr^t with r-1 = 2^s*t, roots[k-1] = roots[k]^2.
 */
export function rootsOfUnity(): bigint[] {
  if (rootsCache) return rootsCache;
  let nqr = 2n;
  while (pow(nqr, (R - 1n) >> 1n) === 1n) nqr += 1n;
  let s = 0;
  let t = R - 1n;
  while ((t & 1n) === 0n) {
    s++;
    t >>= 1n;
  }
  const w: bigint[] = new Array<bigint>(s + 1);
  w[s] = pow(nqr, t);
  for (let i = s - 1; i >= 0; i--) w[i] = (w[i + 1] * w[i + 1]) % R;
  if (w[0] !== 1n) throw new Error("roots of unity: w[0] != 1");
  rootsCache = w;
  return w;
}

export function bytesToBigLE(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return x;
}

/** Reads a 32-byte little-endian integer at byte offset `o`. */
export function readBigLE32(dv: DataView, o: number): bigint {
  return (
    dv.getBigUint64(o, true) |
    (dv.getBigUint64(o + 8, true) << 64n) |
    (dv.getBigUint64(o + 16, true) << 128n) |
    (dv.getBigUint64(o + 24, true) << 192n)
  );
}

const MASK64 = (1n << 64n) - 1n;

/** Writes x (0 <= x < 2^256) as 32 little-endian bytes at byte offset `o`. */
export function writeBigLE32(dv: DataView, o: number, x: bigint): void {
  dv.setBigUint64(o, x & MASK64, true);
  dv.setBigUint64(o + 8, (x >> 64n) & MASK64, true);
  dv.setBigUint64(o + 16, (x >> 128n) & MASK64, true);
  dv.setBigUint64(o + 24, x >> 192n, true);
}
