/**
 * sequencer/verify-pool.ts: worker threads verify exactly what core's verifySignature verifies,
 * the main thread answers while no worker is ready and after close(), and signatureCheck() answers
 * only for the triple that was verified.
 */
import { generatePrivateKey, initCrypto, publicKeyOf, signMessage, verifySignature, type PublicKey, type Signature } from "../core/eddsa";
import { createVerifierPool, signatureCheck, type VerifierPool } from "../sequencer/verify-pool";

let pool: VerifierPool;
let pub: PublicKey;
let other: PublicKey;
let sig: Signature;

async function untilReady(p: VerifierPool): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (p.stats().ready < p.size) {
    if (Date.now() > deadline) throw new Error("verifier workers did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  await initCrypto();
  const k = generatePrivateKey();
  pub = publicKeyOf(k);
  other = publicKeyOf(generatePrivateKey());
  sig = signMessage(k, 42n);
  pool = createVerifierPool({ size: 2 });
  await untilReady(pool);
});

afterAll(async () => {
  await pool.close();
});

test("workers verify what verifySignature verifies, in batches", async () => {
  const cases: [bigint, Signature, PublicKey][] = [
    [42n, sig, pub],
    [43n, sig, pub],
    [42n, sig, other],
    [42n, { ...sig, s: sig.s + 1n }, pub],
    [42n, { ...sig, r8x: sig.r8x + 1n }, pub],
    [42n, { ...sig, s: -1n }, pub],
    [42n, sig, { ax: 0n, ay: 1n }],
    [42n, sig, { ax: 0n, ay: 0n }],
  ];
  const before = pool.stats().offloaded;
  const got = await Promise.all(cases.map(([m, s, p]) => pool.verify(m, s, p)));
  expect(got).toEqual(cases.map(([m, s, p]) => verifySignature(m, s, p)));
  expect(got[0]).toBe(true);
  expect(got.slice(1).every((ok) => !ok)).toBe(true);
  expect(pool.stats().offloaded - before).toBe(cases.length);
});

test("malformed input never verifies and never reaches a worker", async () => {
  const before = pool.stats();
  expect(await pool.verify(42n, { ...sig, s: 1 as unknown as bigint }, pub)).toBe(false);
  expect(await pool.verify(42n, null as unknown as Signature, pub)).toBe(false);
  expect(pool.stats().offloaded).toBe(before.offloaded);
  expect(pool.stats().mainThread).toBe(before.mainThread + 2);
});

test("a pool without workers, and a closed pool, verify on the main thread", async () => {
  const none = createVerifierPool({ size: 0 });
  expect(await none.verify(42n, sig, pub)).toBe(true);
  expect(await none.verify(43n, sig, pub)).toBe(false);
  expect(none.stats()).toMatchObject({ workers: 0, offloaded: 0, mainThread: 2 });
  await none.close();
  const p = createVerifierPool({ size: 1 });
  await untilReady(p);
  const inFlight = p.verify(42n, sig, pub);
  await p.close();
  expect(await inFlight).toBe(true);
  expect(await p.verify(43n, sig, pub)).toBe(false);
  expect(p.stats().workers).toBe(0);
});

test("signatureCheck answers only for the verified triple", () => {
  const yes = signatureCheck({ message: 42n, sig: { ...sig }, pub: { ...pub }, ok: true });
  expect(yes(42n, { ...sig }, { ...pub })).toBe(true);
  // Anything else is verified afresh: a different message, key or signature gets its own answer.
  expect(yes(43n, sig, pub)).toBe(false);
  expect(yes(42n, sig, other)).toBe(false);
  expect(yes(42n, { ...sig, s: sig.s + 1n }, pub)).toBe(false);
  const no = signatureCheck({ message: 42n, sig, pub, ok: false });
  expect(no(42n, sig, pub)).toBe(false);
  expect(signatureCheck(null)(42n, sig, pub)).toBe(true);
});
