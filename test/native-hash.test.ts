/**
 * The native addon's hashing (native/src/poseidon.cpp, babyjub.cpp through core/poseidon.ts and
 * core/eddsa-fast.ts) against the JavaScript it replaces:
 *   - Poseidon: native == poseidon-lite == circomlibjs' buildPoseidon for every arity 1..16, on random and
 *     edge inputs; inputs ≥ r, ≥ 2^256, negative or not bigints behave exactly as in poseidon-lite;
 *   - EdDSA-Poseidon: verifyFast (native) == verifyFastJs (noble) on valid, tampered, out-of-range,
 *     small-order and torsioned cases, cold and with the key tabled.
 *
 * The addon must be built (npm ci / npm run build:native): without it this file fails, naming why,
 * unless MODEX_NATIVE=off, which checks the JavaScript paths alone.
 */
import { randomBytes } from "node:crypto";
import { buildPoseidon, buildEddsa } from "circomlibjs";
import * as lite from "poseidon-lite";
import { Field } from "@noble/curves/abstract/modular";
import { FIELD_MODULUS } from "../core/field";
import { nativeAddon, nativeStatus } from "../core/native";
import { poseidon, poseidonJs, nativePoseidon } from "../core/poseidon";
import { initCrypto, generatePrivateKey, publicKeyOf, signMessage, type PublicKey, type Signature } from "../core/eddsa";
import {
  verifyFast, verifyFastJs, fastVerifierIsNative, configureFastVerifier, fastVerifierConfig, clearKeyCache, keyCacheStats,
  SUBGROUP_ORDER, BASE8,
} from "../core/eddsa-fast";

const r = FIELD_MODULUS;
const L = SUBGROUP_ORDER;
const Fr = Field(r);
const nativeOff = (process.env.MODEX_NATIVE ?? "").toLowerCase() === "off";
const liteByArity = (n: number): ((x: bigint[]) => bigint) => (lite as unknown as Record<string, (x: bigint[]) => bigint>)[`poseidon${n}`];
const rand = (bytes: number): bigint => BigInt("0x" + randomBytes(bytes).toString("hex"));

/* eslint-disable @typescript-eslint/no-explicit-any */
let circomPoseidon: any;
let e: any;
const initialConfig = fastVerifierConfig();

beforeAll(async () => {
  circomPoseidon = await buildPoseidon();
  e = await buildEddsa();
  await initCrypto();
});

afterAll(() => {
  configureFastVerifier(initialConfig);
  clearKeyCache();
});

describe("the addon", () => {
  test(nativeOff ? "MODEX_NATIVE=off: the JavaScript paths only" : "is built and loaded (else: npm run build:native)", () => {
    if (nativeOff) {
      expect(nativeAddon()).toBeNull();
      expect(nativePoseidon(2)).toBeNull();
      expect(fastVerifierIsNative()).toBe(false);
      return;
    }
    const status = nativeStatus();
    if (!status.available) throw new Error(`the native addon is not available: ${status.reason} (set MODEX_NATIVE=off to test the JavaScript paths alone)`);
    expect(typeof nativeAddon()?.poseidon).toBe("function");
    expect(fastVerifierIsNative()).toBe(true);
  });
});

// ---------------------------------------------------------------- Poseidon

describe("Poseidon", () => {
  const edges = [0n, 1n, 2n, r - 1n, r - 2n, (r - 1n) / 2n, 2n ** 253n - 1n, 2n ** 253n, 2n ** 253n + 1n, 2n ** 64n - 1n, 2n ** 64n, 2n ** 128n + 3n];

  function inputSets(n: number): bigint[][] {
    const sets: bigint[][] = [];
    for (const v of edges) sets.push(new Array<bigint>(n).fill(v));
    for (let i = 0; i < edges.length; i++) sets.push(Array.from({ length: n }, (_, j) => edges[(i + j) % edges.length]));
    for (let i = 0; i < 12; i++) sets.push(Array.from({ length: n }, () => rand(40) % r));
    for (let i = 0; i < 4; i++) sets.push(Array.from({ length: n }, () => rand(32) >> BigInt(i * 60))); // 256, 196, 136, 76 bits
    return sets;
  }

  test("native == poseidon-lite == circomlibjs for every arity 1..16 (random and edge inputs < r)", () => {
    let compared = 0;
    for (let n = 1; n <= 16; n++) {
      const native = nativePoseidon(n);
      if (!nativeOff) expect(native).not.toBeNull();
      for (const x of inputSets(n)) {
        if (x.some((v) => v >= r)) continue;
        const want = circomPoseidon.F.toObject(circomPoseidon(x.map((v) => circomPoseidon.F.e(v))));
        expect({ n, x, lite: liteByArity(n)(x) }).toEqual({ n, x, lite: want });
        if (native) expect({ n, x, native: native(x) }).toEqual({ n, x, native: want });
        expect(poseidon(x)).toBe(want);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(16 * 30);
  });

  test("inputs in [r, 2^256) are taken mod r, as poseidon-lite and circomlibjs take them", () => {
    for (let n = 1; n <= 16; n++) {
      const native = nativePoseidon(n);
      const x = Array.from({ length: n }, (_, j) => [r, r + 1n, 2n * r - 1n, 2n ** 256n - 1n, 5n * r + 7n, r + rand(31)][j % 6]);
      const reduced = x.map((v) => v % r);
      const want = liteByArity(n)(reduced);
      expect(liteByArity(n)(x)).toBe(want);
      expect(circomPoseidon.F.toObject(circomPoseidon(x.map((v) => circomPoseidon.F.e(v))))).toBe(want);
      if (native) expect(native(x)).toBe(want);
      expect(poseidon(x)).toBe(want);
    }
  });

  test("inputs ≥ 2^256, negative or not bigints: the native hash declines (null) and the result is poseidon-lite's", () => {
    const odd: unknown[][] = [
      [2n ** 256n, 1n],
      [2n ** 300n + 5n, r],
      [-1n, 2n],
      [-(r - 1n), 2n],
      [-(2n ** 255n), -3n],
      [-r, -5n * r - 1n],
    ];
    for (const x of odd) {
      const native = nativePoseidon(x.length);
      if (native) expect(native(x as bigint[])).toBeNull();
      expect(poseidon(x as bigint[])).toBe(liteByArity(x.length)(x as bigint[]));
      // Always congruent to the hash of the residues (poseidon-lite may leave a negative representative).
      const want = liteByArity(x.length)((x as bigint[]).map((v) => ((v % r) + r) % r));
      expect((((poseidon(x as bigint[]) % r) + r) % r)).toBe(want);
    }
    // Numbers and numeric strings: poseidon-lite converts them with BigInt(); other values throw its error.
    expect(poseidon([5, "7"] as unknown as bigint[])).toBe(liteByArity(2)([5n, 7n]));
    for (const bad of [["x", 1n], [1.5, 1n], [{}, 1n]] as unknown as bigint[][]) {
      let liteError: unknown = null;
      try {
        liteByArity(2)(bad);
      } catch (err) {
        liteError = err;
      }
      expect(liteError).toBeInstanceOf(Error);
      expect(() => poseidon(bad)).toThrow((liteError as Error).message);
    }
  });

  test("unsupported counts throw the same error with or without the addon", () => {
    for (const n of [0, 17, 20]) {
      const x = new Array<bigint>(n).fill(1n);
      expect(() => poseidon(x)).toThrow(`poseidon: unsupported input count ${n}`);
      expect(() => poseidonJs(x)).toThrow(`poseidon: unsupported input count ${n}`);
      expect(nativePoseidon(n)).toBeNull();
    }
    const addon = nativeAddon();
    if (addon) expect(() => addon.poseidon(new Array<bigint>(17).fill(1n))).toThrow(/unsupported input count/);
  });

  test("circomlib's known answers", () => {
    expect(poseidon([1n, 2n])).toBe(7853200120776062878684798364095072458815029376092732009249414926327459813530n);
    expect(poseidon([1n, 2n, 3n, 4n])).toBe(18821383157269793795438455681495246036402687001665670618754263018637548127333n);
  });
});

// ---------------------------------------------------------------- EdDSA-Poseidon

type Pt = readonly [bigint, bigint];
const F = (): any => e.F;
const toPt = (p: any[]): Pt => [F().toObject(p[0]), F().toObject(p[1])];
const fromPt = (p: Pt): any[] => [F().e(p[0]), F().e(p[1])];
const mul = (p: Pt, k: bigint): Pt => toPt(e.babyJub.mulPointEscalar(fromPt(p), k));
const add = (p: Pt, q: Pt): Pt => toPt(e.babyJub.addPoint(fromPt(p), fromPt(q)));
const B8: Pt = [BASE8.x, BASE8.y];

/** The 8 points T with 8·T = identity: multiples of a point of order 8 (l·P for a P of full order). */
function smallOrder(): Pt[] {
  for (let y = 3n; ; y++) {
    const y2 = Fr.sqr(y);
    let x: bigint;
    try {
      x = Fr.sqrt(Fr.div(Fr.sub(1n, y2), Fr.sub(168700n, Fr.mul(168696n, y2))));
    } catch {
      continue;
    }
    const t = mul([x, y], L);
    const t4 = mul(t, 4n);
    if (t4[0] === 0n && t4[1] === 1n) continue; // order of t below 8
    return [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n].map((k) => mul(t, k));
  }
}

interface Case {
  readonly name: string;
  readonly m: unknown;
  readonly sig: unknown;
  readonly pub: unknown;
}

function cases(m: bigint, sig: Signature, key: PublicKey, other: PublicKey, small: readonly Pt[]): Case[] {
  const c = (name: string, mm: unknown, s: Record<string, unknown> = {}, p: Record<string, unknown> = {}): Case =>
    ({ name, m: mm, sig: { ...sig, ...s }, pub: { ...key, ...p } });
  return [
    c("valid", m),
    c("wrong message", (m + 1n) % r),
    c("message + r", m + r),
    c("message - r", m - r),
    c("message + 7r", m + 7n * r),
    c("message - 9r", m - 9n * r),
    c("message + 2^300", m + 2n ** 300n),
    c("message + 2^300·r", m + 2n ** 300n * r),
    c("message as a number", Number(m % 1000n)),
    c("message as a string", m.toString()),
    c("other key", m, {}, other as unknown as Record<string, unknown>),
    c("S + 1", m, { s: (sig.s + 1n) % L }),
    c("S + l", m, { s: sig.s + L }),
    c("S = l", m, { s: L }),
    c("S = l - 1", m, { s: L - 1n }),
    c("S = 0", m, { s: 0n }),
    c("S = r - 1", m, { s: r - 1n }),
    c("S + r", m, { s: sig.s + r }),
    c("S = -1", m, { s: -1n }),
    c("S - l", m, { s: sig.s - L }),
    c("S = 2^256", m, { s: 2n ** 256n }),
    c("S as a number", m, { s: Number(sig.s) }),
    c("R8 off the curve", m, { r8y: (sig.r8y + 1n) % r }),
    c("A off the curve", m, {}, { ay: (key.ay + 1n) % r }),
    c("R8 negated", m, { r8x: (r - sig.r8x) % r }),
    c("R8 = identity", m, { r8x: 0n, r8y: 1n }),
    c("R8 and A swapped", m, { r8x: key.ax, r8y: key.ay }, { ax: sig.r8x, ay: sig.r8y }),
    c("r8x + r", m, { r8x: sig.r8x + r }),
    c("r8y + r", m, { r8y: sig.r8y + r }),
    c("ax + r", m, {}, { ax: key.ax + r }),
    c("ay + r", m, {}, { ay: key.ay + r }),
    c("r8x - r", m, { r8x: sig.r8x - r }),
    c("ax - r", m, {}, { ax: key.ax - r }),
    c("ay = 2^256 + ay", m, {}, { ay: key.ay + 2n ** 256n }),
    c("r8x as a string", m, { r8x: sig.r8x.toString() }),
    c("ax as a number", m, {}, { ax: 1 }),
    ...small.map((t, i) => c(`small-order key #${i}`, m, {}, { ax: t[0], ay: t[1] })),
    { name: "sig = null", m, sig: null, pub: key },
    { name: "pub = undefined", m, sig, pub: undefined },
    { name: "sig missing fields", m, sig: { r8x: sig.r8x }, pub: key },
  ];
}

/** verifyFast and verifyFastJs, each with the key cache off and again with every key tabled. */
function both(c: Case): { native: boolean; js: boolean } {
  const m = c.m as bigint, sig = c.sig as Signature, pub = c.pub as PublicKey;
  configureFastVerifier({ keyCacheSize: 0 });
  const native = verifyFast(m, sig, pub);
  const js = verifyFastJs(m, sig, pub);
  configureFastVerifier({ keyCacheSize: 64, promoteAfter: 1 });
  // A valid signature by the same key first, where we have one, so that the key is tabled.
  const w = typeof pub === "object" && pub !== null ? warmers.get(`${String(pub.ax)}:${String(pub.ay)}`) : undefined;
  if (w) {
    expect(verifyFast(w.m, w.sig, w.pub)).toBe(true);
    expect(verifyFastJs(w.m, w.sig, w.pub)).toBe(true);
  }
  expect({ name: c.name, hot: verifyFast(m, sig, pub) }).toEqual({ name: c.name, hot: native });
  expect({ name: c.name, hot: verifyFastJs(m, sig, pub) }).toEqual({ name: c.name, hot: js });
  return { native, js };
}
const warmers = new Map<string, { m: bigint; sig: Signature; pub: PublicKey }>();

function signed(n: number): { m: bigint; sig: Signature; pub: PublicKey }[] {
  const out = [];
  for (let i = 0; i < n; i++) {
    const priv = generatePrivateKey();
    const pub = publicKeyOf(priv);
    const m = rand(40) % r;
    const sig = signMessage(priv, m);
    out.push({ m, sig, pub });
  }
  return out;
}

describe("EdDSA-Poseidon verification: native == JavaScript", () => {
  let small: Pt[];
  beforeAll(() => {
    small = smallOrder();
  });

  test("valid signatures verify on both paths (48 keys, cold and tabled)", () => {
    for (const s of signed(48)) {
      warmers.set(`${s.pub.ax}:${s.pub.ay}`, s);
      expect(both({ name: "valid", m: s.m, sig: s.sig, pub: s.pub })).toEqual({ native: true, js: true });
    }
  });

  test("tampered, out-of-range, small-order and non-bigint cases answer alike", () => {
    const keys = signed(6);
    let accepted = 0, total = 0, perKey = 0;
    for (let i = 0; i < keys.length; i++) {
      const s = keys[i];
      warmers.set(`${s.pub.ax}:${s.pub.ay}`, s);
      const list = cases(s.m, s.sig, s.pub, keys[(i + 1) % keys.length].pub, small);
      perKey = list.length;
      for (const c of list) {
        const got = both(c);
        expect({ name: c.name, native: got.native }).toEqual({ name: c.name, native: got.js });
        if (got.js) accepted++;
        total++;
      }
    }
    // valid, message ± k·r (5 congruent variants) per key, and nothing else
    expect(accepted).toBe(keys.length * 6);
    expect(perKey).toBe(36 + small.length + 3);
    expect(total).toBe(keys.length * perKey);
  });

  test("small-order key forgeries (S·Base8 = R8) are refused; torsioned keys and R8 = identity behave alike", () => {
    for (const t of small) {
      const n = rand(40) % L;
      const R = mul(B8, n);
      const c: Case = { name: "forgery", m: rand(40) % r, sig: { r8x: R[0], r8y: R[1], s: n }, pub: { ax: t[0], ay: t[1] } };
      expect(both(c)).toEqual({ native: false, js: false });
    }
    for (const t of small.slice(1)) {
      for (const nonceTorsion of [false, true]) {
        const k = rand(40) % L;
        const A = add(mul(B8, k), t);
        const n = rand(40) % L;
        let R = mul(B8, n);
        if (nonceTorsion) R = add(R, t);
        const m = rand(40) % r;
        const hm = liteByArity(5)([R[0], R[1], A[0], A[1], m]);
        const sig = { r8x: R[0], r8y: R[1], s: (n + 8n * hm * k) % L };
        const got = both({ name: "torsion", m, sig, pub: { ax: A[0], ay: A[1] } });
        expect(got).toEqual({ native: !nonceTorsion, js: !nonceTorsion });
      }
    }
    // Nonce 0: R8 is the identity and S = 8·hm·k mod l.
    const k = rand(40) % L;
    const A = mul(B8, k);
    const m = rand(40) % r;
    const hm = liteByArity(5)([0n, 1n, A[0], A[1], m]);
    expect(both({ name: "nonce 0", m, sig: { r8x: 0n, r8y: 1n, s: (8n * hm * k) % L }, pub: { ax: A[0], ay: A[1] } })).toEqual({ native: true, js: true });
  });

  test("the key cache: entries only for valid keys, tables after promoteAfter successes, LRU", () => {
    const [a, b, c] = signed(3);
    clearKeyCache();
    configureFastVerifier({ keyCacheSize: 2, promoteAfter: 2 });
    const bad = { ...a.sig, s: (a.sig.s + 1n) % L };
    for (let i = 0; i < 3; i++) expect(verifyFast(a.m, bad, a.pub)).toBe(false);
    expect(verifyFast(a.m, a.sig, { ...a.pub, ay: (a.pub.ay + 1n) % r })).toBe(false); // off the curve: not cached
    expect(keyCacheStats()).toEqual({ entries: 1, tables: 0 });
    expect(verifyFast(a.m, a.sig, a.pub)).toBe(true);
    expect(verifyFast(a.m, a.sig, a.pub)).toBe(true);
    expect(keyCacheStats()).toEqual({ entries: 1, tables: 1 });
    expect(verifyFast(a.m, bad, a.pub)).toBe(false); // the tabled key still refuses a bad S
    expect(verifyFast(b.m, b.sig, b.pub)).toBe(true);
    expect(verifyFast(c.m, c.sig, c.pub)).toBe(true); // evicts a
    expect(keyCacheStats()).toEqual({ entries: 2, tables: 0 });
    configureFastVerifier({ keyCacheSize: 0 });
    expect(keyCacheStats()).toEqual({ entries: 0, tables: 0 });
    configureFastVerifier(initialConfig);
  });
});
