/**
 * Evaluates the QAP of an R1CS at a known tau, the way snarkjs' newZKey lays it out
 * (zkey_new.js), producing the scalar of every point of a Groth16 .zkey:
 *
 *   domain size n = 2^(floor(log2(nConstraints + nPublic)) + 1), L_i = Lagrange basis of
 *   the n-th roots of unity at tau. Constraint i of the r1cs is row i; snarkjs adds a row
 *   nConstraints + s with A = 1·x_s for every public signal s (0..nPublic, 0 = ONE).
 *   a_s = sum_A coef·L_row, b_s = sum_B coef·L_row, c_s = sum_C coef·L_row
 *   A_s = a_s·G1, B1_s = b_s·G1, B2_s = b_s·G2,
 *   IC_s = (beta·a_s + alpha·b_s + c_s)/gamma (s <= nPublic),
 *   C_s  = (beta·a_s + alpha·b_s + c_s)/delta (s >  nPublic),
 *   H_i  = L'_{2i+1}/delta for i < n, L' = Lagrange basis of the 2n-th roots of unity: the
 *   prover (groth16_prove.js) evaluates A·B-C on the odd 2n-th roots w2^(2i+1), where the
 *   vanishing polynomial is -2, and multiplies by these points; since A·B-C vanishes on
 *   the even ones, sum_i P(w2^(2i+1))·L'_{2i+1}(tau) = P(tau) = H(tau)·Z(tau).
 *
 * It also builds the coefficients section (4) byte-for-byte as newZKey writes it.
 */
import { batchInverse, inv, MONT_R2, mod, pow, R, readBigLE32, rootsOfUnity, writeBigLE32 } from "./devzkey_field";

export interface ToxicWaste {
  tau: bigint;
  alpha: bigint;
  beta: bigint;
  gamma: bigint;
  delta: bigint;
}

export interface R1csData {
  nVars: number;
  nPublic: number;
  nConstraints: number;
  /** Raw constraints section (2) of the r1cs file. */
  constraints: Uint8Array;
}

export interface QapScalars {
  domainSize: number;
  power: number;
  nVars: number;
  nPublic: number;
  /** 32-byte LE standard-form scalars, concatenated per section. */
  ic: Uint8Array; // nPublic+1
  a: Uint8Array; // nVars
  b: Uint8Array; // nVars (used for B1 in G1 and B2 in G2)
  c: Uint8Array; // nVars - nPublic - 1
  h: Uint8Array; // domainSize
  /** Section 4 payload exactly as snarkjs writes it. */
  coeffsSection: Uint8Array;
}

const FR_BYTES = 32;
const R1CS_PRIME = R;

/** Parses an .r1cs file (header + constraints). Only the BN254 scalar field is supported. */
export function parseR1cs(file: Uint8Array): R1csData {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = String.fromCharCode(file[0], file[1], file[2], file[3]);
  if (magic !== "r1cs") throw new Error("not an r1cs file");
  const nSections = dv.getUint32(8, true);
  let pos = 12;
  let header: { n8: number; prime: bigint; nVars: number; nPublic: number; nConstraints: number } | null = null;
  let constraints: Uint8Array | null = null;
  for (let i = 0; i < nSections; i++) {
    const type = dv.getUint32(pos, true);
    const size = Number(dv.getBigUint64(pos + 4, true));
    const start = pos + 12;
    if (type === 1) {
      const n8 = dv.getUint32(start, true);
      let prime = 0n;
      for (let k = n8 - 1; k >= 0; k--) prime = (prime << 8n) | BigInt(file[start + 4 + k]);
      const o = start + 4 + n8;
      header = {
        n8,
        prime,
        nVars: dv.getUint32(o, true),
        nPublic: dv.getUint32(o + 4, true) + dv.getUint32(o + 8, true),
        nConstraints: dv.getUint32(o + 24, true),
      };
    } else if (type === 2) {
      constraints = file.subarray(start, start + size);
    }
    pos = start + size;
  }
  if (!header || !constraints) throw new Error("r1cs: missing header or constraints section");
  if (header.n8 !== FR_BYTES || header.prime !== R1CS_PRIME) throw new Error("r1cs: only the BN254 scalar field is supported");
  return { nVars: header.nVars, nPublic: header.nPublic, nConstraints: header.nConstraints, constraints };
}

/** snarkjs: cirPower = log2(nConstraints + nPubInputs + nOutputs) + 1 (floor log2). */
export function domainPower(nConstraints: number, nPublic: number): number {
  const v = (nConstraints + nPublic) >>> 0;
  return v === 0 ? 1 : 31 - Math.clz32(v) + 1;
}

export function evaluateQap(r1cs: R1csData, tw: ToxicWaste): QapScalars {
  const { nVars, nPublic, nConstraints } = r1cs;
  const power = domainPower(nConstraints, nPublic);
  const roots = rootsOfUnity();
  if (power + 1 >= roots.length) throw new Error(`circuit too big: 2^${power} domain`);
  const n = 2 ** power;
  const w = roots[power];
  const nRows = nConstraints + nPublic + 1;

  // Lagrange basis at tau for the rows in use: L_i = (tau^n - 1)/n · w^i / (tau - w^i).
  const zTau = mod(pow(tw.tau, BigInt(n)) - 1n);
  if (zTau === 0n) throw new Error("tau is in the evaluation domain");
  // (Memory matters at millions of rows: powers of w are recomputed rather than stored.)
  let lag: bigint[] = new Array<bigint>(nRows);
  let x = 1n;
  for (let i = 0; i < nRows; i++) {
    lag[i] = mod(tw.tau - x);
    x = (x * w) % R;
  }
  batchInverse(lag);
  x = (zTau * inv(BigInt(n))) % R; // factor·w^i
  for (let i = 0; i < nRows; i++) {
    lag[i] = (x * lag[i]) % R;
    x = (x * w) % R;
  }

  // Accumulate a_s, b_s, c_s (unreduced) and write the coefficients section.
  const a: bigint[] = new Array<bigint>(nVars).fill(0n);
  const b: bigint[] = new Array<bigint>(nVars).fill(0n);
  const c: bigint[] = new Array<bigint>(nVars).fill(0n);
  const cs = r1cs.constraints;
  const cdv = new DataView(cs.buffer, cs.byteOffset, cs.byteLength);
  let nCoefs = nPublic + 1;
  {
    let p = 0;
    for (let row = 0; row < nConstraints; row++) {
      for (let m = 0; m < 3; m++) {
        const k = cdv.getUint32(p, true);
        if (m < 2) nCoefs += k;
        p += 4 + k * (4 + FR_BYTES);
      }
    }
    if (p !== cs.byteLength) throw new Error("r1cs: constraints section size mismatch");
  }
  const COEF_BYTES = 12 + FR_BYTES;
  const coeffsSection = new Uint8Array(4 + nCoefs * COEF_BYTES);
  const kdv = new DataView(coeffsSection.buffer);
  kdv.setUint32(0, nCoefs, true);
  let kp = 4;
  const montCache = new Map<bigint, bigint>();
  const writeCoef = (matrix: number, row: number, signal: number, coef: bigint): void => {
    let mc = montCache.get(coef);
    if (mc === undefined) {
      mc = (coef * MONT_R2) % R;
      if (montCache.size < 4096) montCache.set(coef, mc);
    }
    kdv.setUint32(kp, matrix, true);
    kdv.setUint32(kp + 4, row, true);
    kdv.setUint32(kp + 8, signal, true);
    writeBigLE32(kdv, kp + 12, mc);
    kp += COEF_BYTES;
  };
  const ONE = 1n;
  const MINUS_ONE = R - 1n;
  const accs = [a, b, c];
  let p = 0;
  for (let row = 0; row < nConstraints; row++) {
    const l = lag[row];
    for (let m = 0; m < 3; m++) {
      const acc = accs[m];
      const k = cdv.getUint32(p, true);
      p += 4;
      for (let t = 0; t < k; t++) {
        const s = cdv.getUint32(p, true);
        const coef = readBigLE32(cdv, p + 4);
        p += 4 + FR_BYTES;
        if (s >= nVars) throw new Error(`r1cs: signal ${s} out of range`);
        if (coef === ONE) acc[s] += l;
        else if (coef === MINUS_ONE) acc[s] -= l;
        else acc[s] += coef * l;
        if (m < 2) writeCoef(m, row, s, coef);
      }
    }
  }
  for (let s = 0; s <= nPublic; s++) {
    a[s] += lag[nConstraints + s];
    writeCoef(0, nConstraints + s, s, ONE);
  }
  if (kp !== coeffsSection.length) throw new Error("internal: coefficient count mismatch");
  lag = []; // release

  // Encode.
  const enc = (count: number, f: (i: number) => bigint): Uint8Array => {
    const out = new Uint8Array(count * FR_BYTES);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < count; i++) writeBigLE32(dv, i * FR_BYTES, f(i));
    return out;
  };
  for (let s = 0; s < nVars; s++) {
    a[s] = mod(a[s]);
    b[s] = mod(b[s]);
    c[s] = mod(c[s]);
  }
  const gammaInv = inv(tw.gamma);
  const deltaInv = inv(tw.delta);
  const lin = (s: number): bigint => (tw.beta * a[s] + tw.alpha * b[s] + c[s]) % R;
  const icBytes = enc(nPublic + 1, (s) => (lin(s) * gammaInv) % R);
  const cBytes = enc(nVars - nPublic - 1, (i) => (lin(i + nPublic + 1) * deltaInv) % R);
  const aBytes = enc(nVars, (s) => a[s]);
  const bBytes = enc(nVars, (s) => b[s]);
  a.length = 0;
  b.length = 0;
  c.length = 0;

  // H: L'_{2i+1}(tau)/delta over the 2n-th roots, x_i = w2^(2i+1) = w2·w^i.
  const w2 = roots[power + 1];
  const z2 = mod(pow(tw.tau, BigInt(2 * n)) - 1n);
  if (z2 === 0n) throw new Error("tau is in the evaluation domain");
  const hd: bigint[] = new Array<bigint>(n);
  x = w2;
  for (let i = 0; i < n; i++) {
    hd[i] = mod(tw.tau - x);
    x = (x * w) % R;
  }
  batchInverse(hd);
  x = (((((z2 * inv(BigInt(2 * n))) % R) * deltaInv) % R) * w2) % R; // z2/(2n)/delta · x_i
  const hBytes = enc(n, (i) => {
    const v = (x * hd[i]) % R;
    x = (x * w) % R;
    return v;
  });

  return { domainSize: n, power, nVars, nPublic, ic: icBytes, a: aBytes, b: bBytes, c: cBytes, h: hBytes, coeffsSection };
}
