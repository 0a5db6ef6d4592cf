/**
 * core/eddsa-fast.ts accepts exactly what circomlibjs' verifyPoseidon accepts, except where the
 * module comment says otherwise (small-order keys, non-canonical coordinates, S < 0), and never
 * accepts a signature that circomlib's EdDSAPoseidonVerifier circuit refuses.
 *
 * Three oracles: circomlibjs called directly (with F.e() on every field, as core/eddsa.ts used to),
 * the compiled EdDSAPoseidonVerifier circuit (a witness exists iff the circuit accepts), and the fast
 * verifier both without its key cache and with every key already holding a window table.
 */
import { randomBytes } from "node:crypto";
import { buildEddsa } from "circomlibjs";
import * as snarkjs from "snarkjs";
import { poseidon5 } from "poseidon-lite";
import { Field } from "@noble/curves/abstract/modular";
import { compileCircuit, type CompiledCircuit } from "../circuits/compile";
import { FIELD_MODULUS } from "../core/field";
import { poseidon } from "../core/poseidon";
import {
  initCrypto, generatePrivateKey, publicKeyOf, signMessage, verifySignature, isOnCurve,
  type PublicKey, type Signature,
} from "../core/eddsa";
import {
  verifyFast, configureFastVerifier, fastVerifierConfig, clearKeyCache, keyCacheStats, warmUpFastVerifier,
  SUBGROUP_ORDER, BASE8,
} from "../core/eddsa-fast";
import { benchEddsa } from "../bench/eddsa";

const r = FIELD_MODULUS;
const Fr = Field(FIELD_MODULUS);
const L = SUBGROUP_ORDER;
type Pt = readonly [bigint, bigint];

/* eslint-disable @typescript-eslint/no-explicit-any */
let e: any;
let F: any;
let circuit: CompiledCircuit;
const initialConfig = fastVerifierConfig();

beforeAll(async () => {
  await initCrypto();
  e = await buildEddsa();
  F = e.F;
  circuit = await compileCircuit({
    name: "eddsa-poseidon-verifier",
    mainSource: 'pragma circom 2.0.0;\ninclude "circomlib/circuits/eddsaposeidon.circom";\ncomponent main = EdDSAPoseidonVerifier();\n',
    log: () => {},
  });
  warmUpFastVerifier();
});

afterAll(() => {
  configureFastVerifier(initialConfig);
  clearKeyCache();
});

// ---------------------------------------------------------------- oracles

/** circomlibjs, as core/eddsa.ts called it before the fast path. It loops forever on S < 0, so callers must not pass that. */
function ref(m: bigint, sig: Signature, pub: PublicKey): boolean {
  if (sig.s < 0n) throw new Error("circomlibjs verifyPoseidon does not terminate for S < 0");
  return e.verifyPoseidon(F.e(m), { R8: [F.e(sig.r8x), F.e(sig.r8y)], S: sig.s }, [F.e(pub.ax), F.e(pub.ay)]);
}

/** The EdDSAPoseidonVerifier circuit with enabled = 1: true iff a witness exists. */
async function circ(m: bigint, sig: Signature, pub: PublicKey): Promise<boolean> {
  const input = {
    enabled: "1", Ax: pub.ax.toString(), Ay: pub.ay.toString(),
    S: sig.s.toString(), R8x: sig.r8x.toString(), R8y: sig.r8y.toString(), M: m.toString(),
  };
  const quiet = [jest.spyOn(console, "log").mockImplementation(() => {}), jest.spyOn(console, "error").mockImplementation(() => {})];
  try {
    await snarkjs.wtns.calculate(input, circuit.wasmPath, { type: "mem" });
    return true;
  } catch {
    return false;
  } finally {
    for (const s of quiet) s.mockRestore();
  }
}

/** The fast verifier without a key cache, and again with the key's window table in place. */
function fastBoth(m: bigint, sig: Signature, pub: PublicKey): boolean {
  configureFastVerifier({ keyCacheSize: 0 });
  const cold = verifyFast(m, sig, pub);
  configureFastVerifier({ keyCacheSize: 16, promoteAfter: 1 });
  // A valid signature by the same key first, where we have one, so that the key is tabled.
  const warm = warmers.get(`${pub.ax}:${pub.ay}`);
  if (warm) expect(verifyFast(warm.m, warm.sig, pub)).toBe(true);
  const hot = verifyFast(m, sig, pub);
  expect(hot).toBe(cold);
  if (hot) expect(verifyFast(m, sig, pub)).toBe(true); // promoted by the first success at the latest
  return cold;
}
const warmers = new Map<string, { m: bigint; sig: Signature }>();

// ---------------------------------------------------------------- curve helpers (circomlibjs' arithmetic, independent of noble)

const rand = (mod: bigint): bigint => BigInt("0x" + randomBytes(40).toString("hex")) % mod;
const toPt = (p: any[]): Pt => [F.toObject(p[0]), F.toObject(p[1])];
const fromPt = (p: Pt): any[] => [F.e(p[0]), F.e(p[1])];
const mul = (p: Pt, k: bigint): Pt => toPt(e.babyJub.mulPointEscalar(fromPt(p), k));
const add = (p: Pt, q: Pt): Pt => toPt(e.babyJub.addPoint(fromPt(p), fromPt(q)));
const B8: Pt = [BASE8.x, BASE8.y];
const ID: Pt = [0n, 1n];
const eq = (p: Pt, q: Pt): boolean => p[0] === q[0] && p[1] === q[1];
const pub = (p: Pt): PublicKey => ({ ax: p[0], ay: p[1] });

/** The 8 points of order dividing 8 (k·T for an order-8 point T), identity first. */
function smallOrderPoints(): Pt[] {
  for (let y = 2n; ; y++) {
    const y2 = Fr.sqr(y);
    const x2 = Fr.div(Fr.sub(1n, y2), Fr.sub(168700n, Fr.mul(168696n, y2)));
    let x: bigint;
    try {
      x = Fr.sqrt(x2); // (ffjavascript's F.sqrt does not return on a non-square)
    } catch {
      continue; // no point with this y
    }
    const t = mul([x, y], L);
    if (eq(mul(t, 4n), ID)) continue; // order < 8
    return [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n].map((k) => mul(t, k));
  }
}

/**
 * A signature made by hand: key A = k·Base8 (+ torsion), nonce point R8 = n·Base8 (+ torsion),
 * S = n + 8·hm·k mod l with hm over the given (possibly torsioned) points.
 */
function craft(k: bigint, m: bigint, opts: { keyTorsion?: Pt; nonce?: bigint; nonceTorsion?: Pt } = {}): { sig: Signature; pub: PublicKey } {
  let A = mul(B8, k);
  if (opts.keyTorsion) A = add(A, opts.keyTorsion);
  const n = opts.nonce ?? rand(L);
  let R = mul(B8, n);
  if (opts.nonceTorsion) R = add(R, opts.nonceTorsion);
  const hm = poseidon5([R[0], R[1], A[0], A[1], m]);
  return { sig: { r8x: R[0], r8y: R[1], s: (n + 8n * hm * k) % L }, pub: pub(A) };
}

// ---------------------------------------------------------------- cases

interface Case {
  readonly name: string;
  readonly m: bigint;
  readonly sig: Signature;
  readonly pub: PublicKey;
  /** All of r8x, r8y, ax, ay in [0, r) and S ≥ 0 (the message may be any bigint: it is reduced mod r). */
  readonly canonical: boolean;
}

function mutations(m: bigint, sig: Signature, key: PublicKey, other: PublicKey): Case[] {
  const c = (name: string, mm: bigint, s: Partial<Signature>, p: Partial<PublicKey> = {}, canonical = true): Case =>
    ({ name, m: mm, sig: { ...sig, ...s }, pub: { ...key, ...p }, canonical });
  return [
    c("valid", m, {}),
    c("wrong message", (m + 1n) % r, {}),
    c("message + r", m + r, {}),
    c("message - r (negative)", m - r, {}),
    c("other key", m, {}, other),
    c("S + 1", m, { s: (sig.s + 1n) % L }),
    c("S + l (≥ subgroup order)", m, { s: sig.s + L }),
    c("S = l", m, { s: L }),
    c("S = r - 1", m, { s: r - 1n }),
    c("R8 off the curve", m, { r8y: (sig.r8y + 1n) % r }),
    c("A off the curve", m, {}, { ay: (key.ay + 1n) % r }),
    c("R8 negated", m, { r8x: (r - sig.r8x) % r }),
    c("R8 = identity", m, { r8x: 0n, r8y: 1n }),
    c("A = identity (0, 1)", m, {}, { ax: 0n, ay: 1n }),
    c("A = (0, -1)", m, {}, { ax: 0n, ay: r - 1n }),
    c("R8 and A swapped", m, { r8x: key.ax, r8y: key.ay }, { ax: sig.r8x, ay: sig.r8y }),
    c("r8x + r", m, { r8x: sig.r8x + r }, {}, false),
    c("r8y + r", m, { r8y: sig.r8y + r }, {}, false),
    c("ax + r", m, {}, { ax: key.ax + r }, false),
    c("ay + r", m, {}, { ay: key.ay + r }, false),
    c("r8x - r (negative)", m, { r8x: sig.r8x - r }, {}, false),
    c("ax - r (negative)", m, {}, { ax: key.ax - r }, false),
  ];
}

interface Signed {
  readonly priv: `0x${string}`;
  readonly pub: PublicKey;
  readonly m: bigint;
  readonly sig: Signature;
}

function signedRandom(n: number): Signed[] {
  const out: Signed[] = [];
  for (let i = 0; i < n; i++) {
    const priv = generatePrivateKey();
    const p = publicKeyOf(priv);
    const m = rand(r);
    const sig = signMessage(priv, m);
    warmers.set(`${p.ax}:${p.ay}`, { m, sig });
    out.push({ priv, pub: p, m, sig });
  }
  return out;
}

// ---------------------------------------------------------------- tests

describe("Poseidon", () => {
  test("poseidon-lite's poseidon5 equals circomlibjs' Poseidon (and core/poseidon) on random and boundary inputs", () => {
    const inputs: bigint[][] = [[0n, 0n, 0n, 0n, 0n], [r - 1n, r - 1n, r - 1n, r - 1n, r - 1n], [1n, 2n, 3n, 4n, 5n]];
    for (let i = 0; i < 40; i++) inputs.push([rand(r), rand(r), rand(r), rand(r), rand(r)]);
    for (const x of inputs) {
      const want = F.toObject(e.poseidon(x.map((v) => F.e(v))));
      expect(poseidon5(x)).toBe(want);
      expect(poseidon(x)).toBe(want);
    }
  });
});

describe("known answer (circomlibjs 0.1.7)", () => {
  const priv = "0x0001020304050607080900010203040506070809000102030405060708090001";
  const key: PublicKey = {
    ax: 13277427435165878497778222415993513565335242147425444199013288855685581939618n,
    ay: 13622229784656158136036771217484571176836296686641868549125388198837476602820n,
  };
  const sig: Signature = {
    r8x: 11220723668893468001994760120794694848178115379170651044669708829805665054484n,
    r8y: 2367470421002446880004241260470975644531657398480773647535134774673409612366n,
    s: 2010143491207902444122668013146870263468969134090678646686512037244361350365n,
  };

  test("key and signature are circomlibjs'; circomlibjs, the circuit, verifyFast and verifySignature accept it", async () => {
    expect(publicKeyOf(priv)).toEqual(key);
    expect(signMessage(priv, 1234n)).toEqual(sig);
    expect(ref(1234n, sig, key)).toBe(true);
    expect(await circ(1234n, sig, key)).toBe(true);
    expect(verifyFast(1234n, sig, key)).toBe(true);
    expect(verifySignature(1234n, sig, key)).toBe(true);
    expect(verifyFast(1235n, sig, key)).toBe(false);
    expect(verifySignature(1235n, sig, key)).toBe(false);
  });
});

describe("agreement with circomlibjs on random signatures", () => {
  test("every valid signature verifies (64 keys, random messages < r), cold and with a tabled key", () => {
    for (const s of signedRandom(64)) {
      expect(ref(s.m, s.sig, s.pub)).toBe(true);
      expect(fastBoth(s.m, s.sig, s.pub)).toBe(true);
      expect(verifySignature(s.m, s.sig, s.pub)).toBe(true);
    }
  });

  test("mutations: canonical cases answer as circomlibjs; non-canonical coordinates are rejected", () => {
    const signed = signedRandom(12);
    const differences = new Map<string, number>();
    let compared = 0;
    for (let i = 0; i < signed.length; i++) {
      const s = signed[i];
      const other = signed[(i + 1) % signed.length].pub;
      for (const c of mutations(s.m, s.sig, s.pub, other)) {
        const want = ref(c.m, c.sig, c.pub);
        const got = fastBoth(c.m, c.sig, c.pub);
        compared++;
        if (c.canonical) {
          expect({ name: c.name, got }).toEqual({ name: c.name, got: want });
        } else {
          expect({ name: c.name, got }).toEqual({ name: c.name, got: false });
          // circomlibjs reduces every coordinate mod r, so it accepts these (the documented difference).
          expect({ name: c.name, want }).toEqual({ name: c.name, want: true });
          differences.set(c.name, (differences.get(c.name) ?? 0) + 1);
        }
      }
    }
    expect(compared).toBe(12 * 22);
    expect([...differences.keys()].sort()).toEqual(["ax + r", "ax - r (negative)", "ay + r", "r8x + r", "r8x - r (negative)", "r8y + r"]);
  });

  test("S < 0 is rejected (circomlibjs would loop forever; the circuit refuses S mod r)", async () => {
    const [s] = signedRandom(1);
    for (const bad of [-1n, s.sig.s - L, -s.sig.s, s.sig.s - r]) {
      expect(fastBoth(s.m, { ...s.sig, s: bad }, s.pub)).toBe(false);
    }
    expect(await circ(s.m, { ...s.sig, s: -1n }, s.pub)).toBe(false);
    expect(await circ(s.m, { ...s.sig, s: s.sig.s - L }, s.pub)).toBe(false);
  });

  test("non-bigint fields and missing objects are rejected without throwing", () => {
    const [s] = signedRandom(1);
    const bad: [unknown, unknown, unknown][] = [
      [Number(1), s.sig, s.pub],
      [s.m, null, s.pub],
      [s.m, s.sig, undefined],
      [s.m, { ...s.sig, s: Number(s.sig.s) }, s.pub],
      [s.m, { ...s.sig, r8x: s.sig.r8x.toString() }, s.pub],
      [s.m, s.sig, { ...s.pub, ax: s.pub.ax.toString() }],
    ];
    for (const [m, sig, p] of bad) expect(verifyFast(m as bigint, sig as Signature, p as PublicKey)).toBe(false);
  });
});

describe("small-order points, torsion and the identity", () => {
  let small: Pt[];
  beforeAll(() => {
    small = smallOrderPoints();
  });

  test("the 8 small-order points are on the curve and 8·T = identity", () => {
    expect(small).toHaveLength(8);
    expect(new Set(small.map((p) => `${p[0]}:${p[1]}`)).size).toBe(8);
    for (const t of small) {
      expect(isOnCurve(pub(t))).toBe(true);
      expect(eq(mul(t, 8n), ID)).toBe(true);
    }
    expect(small.some((t) => eq(t, [0n, r - 1n]))).toBe(true);
  });

  test("small-order key: circomlibjs accepts a forgery for any message, the circuit and verifyFast refuse it", async () => {
    for (const t of small) {
      const n = rand(L);
      const R = mul(B8, n);
      const forged: Signature = { r8x: R[0], r8y: R[1], s: n };
      const m = rand(r);
      expect(ref(m, forged, pub(t))).toBe(true);
      expect(fastBoth(m, forged, pub(t))).toBe(false);
      expect(await circ(m, forged, pub(t))).toBe(false);
    }
  });

  test("key with a torsion component (A = k·Base8 + T): all three accept its signatures, like circomlibjs", async () => {
    for (const t of small.slice(1)) {
      const m = rand(r);
      const { sig, pub: p } = craft(rand(L), m, { keyTorsion: t });
      expect(ref(m, sig, p)).toBe(true);
      expect(fastBoth(m, sig, p)).toBe(true);
      expect(await circ(m, sig, p)).toBe(true);
      expect(fastBoth((m + 1n) % r, sig, p)).toBe(ref((m + 1n) % r, sig, p));
    }
  });

  test("R8 with a torsion component: refused by all three", async () => {
    for (const t of small.slice(1)) {
      const m = rand(r);
      const { sig, pub: p } = craft(rand(L), m, { nonceTorsion: t });
      expect(ref(m, sig, p)).toBe(false);
      expect(fastBoth(m, sig, p)).toBe(false);
      expect(await circ(m, sig, p)).toBe(false);
    }
  });

  test("R8 = identity with the right S (nonce 0) is a valid signature for all three; a wrong S is not", async () => {
    const m = rand(r);
    const { sig, pub: p } = craft(rand(L), m, { nonce: 0n });
    expect([sig.r8x, sig.r8y]).toEqual([0n, 1n]);
    expect(ref(m, sig, p)).toBe(true);
    expect(fastBoth(m, sig, p)).toBe(true);
    expect(await circ(m, sig, p)).toBe(true);
    const wrong = { ...sig, s: (sig.s + 1n) % L };
    expect(ref(m, wrong, p)).toBe(false);
    expect(fastBoth(m, wrong, p)).toBe(false);
  });

  test("hand-made signatures with hm ≥ l (8·hm taken as an integer) verify like circomlibjs'", () => {
    let big = 0;
    for (let i = 0; i < 16; i++) {
      const m = rand(r);
      const { sig, pub: p } = craft(rand(L), m);
      if (poseidon5([sig.r8x, sig.r8y, p.ax, p.ay, m]) >= L) big++;
      expect(ref(m, sig, p)).toBe(true);
      expect(fastBoth(m, sig, p)).toBe(true);
    }
    expect(big).toBeGreaterThan(0);
  });
});

describe("the circuit on the mutation cases", () => {
  test("verifyFast never accepts what the circuit refuses; it refuses only small-order keys, off-curve points and non-canonical encodings the circuit accepts", async () => {
    const [s, o] = signedRandom(2);
    const seen: Record<string, { circuit: boolean; fast: boolean; circomlibjs: boolean }> = {};
    for (const c of mutations(s.m, s.sig, s.pub, o.pub)) {
      const fast = fastBoth(c.m, c.sig, c.pub);
      const circuitOk = await circ(c.m, c.sig, c.pub);
      seen[c.name] = { circuit: circuitOk, fast, circomlibjs: ref(c.m, c.sig, c.pub) };
      if (fast) expect({ name: c.name, circuitOk }).toEqual({ name: c.name, circuitOk: true });
      if (circuitOk && !fast) {
        const allowed = !c.canonical || !isOnCurve({ ax: c.sig.r8x, ay: c.sig.r8y }) || !isOnCurve(c.pub) || c.pub.ax === 0n;
        expect({ name: c.name, allowed }).toEqual({ name: c.name, allowed: true });
      }
    }
    // The circuit takes every signal mod r: it accepts the non-canonical encodings (and S + r) that verifyFast refuses.
    expect(seen["r8x + r"]).toEqual({ circuit: true, fast: false, circomlibjs: true });
    expect(seen["message + r"]).toEqual({ circuit: true, fast: true, circomlibjs: true });
    expect(await circ(s.m, { ...s.sig, s: s.sig.s + r }, s.pub)).toBe(true);
    expect(verifyFast(s.m, { ...s.sig, s: s.sig.s + r }, s.pub)).toBe(false);
    expect(seen["valid"]).toEqual({ circuit: true, fast: true, circomlibjs: true });
  });
});

describe("key cache", () => {
  test("a key gets its window table after promoteAfter successful verifications, never from failures; LRU eviction", () => {
    const signed = signedRandom(3);
    clearKeyCache();
    configureFastVerifier({ keyCacheSize: 2, promoteAfter: 2 });
    const [a, b, c] = signed;
    const bad = { ...a.sig, s: (a.sig.s + 1n) % L };
    for (let i = 0; i < 5; i++) expect(verifyFast(a.m, bad, a.pub)).toBe(false);
    expect(keyCacheStats()).toEqual({ entries: 1, tables: 0 });
    expect(verifyFast(a.m, a.sig, a.pub)).toBe(true);
    expect(keyCacheStats().tables).toBe(0);
    expect(verifyFast(a.m, a.sig, a.pub)).toBe(true);
    expect(keyCacheStats()).toEqual({ entries: 1, tables: 1 });
    expect(verifyFast(a.m, bad, a.pub)).toBe(false);
    expect(verifyFast(b.m, b.sig, b.pub)).toBe(true);
    expect(verifyFast(a.m, a.sig, a.pub)).toBe(true); // a is now the most recent
    expect(verifyFast(c.m, c.sig, c.pub)).toBe(true); // evicts b
    expect(keyCacheStats()).toEqual({ entries: 2, tables: 1 });
    expect(verifyFast(b.m, b.sig, b.pub)).toBe(true); // evicts a and its table
    expect(keyCacheStats()).toEqual({ entries: 2, tables: 0 });
    configureFastVerifier({ keyCacheSize: 0 });
    expect(keyCacheStats()).toEqual({ entries: 0, tables: 0 });
    expect(verifyFast(a.m, a.sig, a.pub)).toBe(true);
    expect(keyCacheStats()).toEqual({ entries: 0, tables: 0 });
    expect(() => configureFastVerifier({ promoteAfter: 0 })).toThrow(RangeError);
    configureFastVerifier(initialConfig);
  });
});

describe("bench/eddsa.ts", () => {
  test("benchEddsa runs and reports positive rates (tiny N)", async () => {
    const res = await benchEddsa({ nFast: 20, nCircomlibjs: 2, pool: 3 });
    expect(res.fast.verificationsPerSec).toBeGreaterThan(0);
    expect(res.fastHotKey.verificationsPerSec).toBeGreaterThan(0);
    expect(res.circomlibjs.verificationsPerSec).toBeGreaterThan(0);
    expect(fastVerifierConfig()).toEqual(initialConfig);
  });
});
