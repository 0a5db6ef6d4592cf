/**
 * EdDSA-Poseidon keys and signatures on Baby Jubjub (circomlibjs), the scheme the circuit verifies.
 * Call `initCrypto()` once before the synchronous functions.
 */
import { randomBytes } from "node:crypto";
import { buildEddsa } from "circomlibjs";
import { fromHex, toHex } from "./field";
import { verifyFast } from "./eddsa-fast";

export interface PublicKey {
  readonly ax: bigint;
  readonly ay: bigint;
}

export interface Signature {
  readonly r8x: bigint;
  readonly r8y: bigint;
  readonly s: bigint;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
let eddsa: any = null;
let pending: Promise<void> | null = null;

export function initCrypto(): Promise<void> {
  if (eddsa) return Promise.resolve();
  pending ??= buildEddsa().then((e: any) => void (eddsa = e));
  return pending as Promise<void>;
}

function lib(): any {
  if (!eddsa) throw new Error("core/eddsa: call `await initCrypto()` first");
  return eddsa;
}

/** A new random private key, 32 bytes as 0x-hex. */
export function generatePrivateKey(): `0x${string}` {
  return toHex(randomBytes(32));
}

function privBytes(priv: string): Buffer {
  const b = fromHex(priv);
  if (b.length !== 32) throw new Error("private key must be 32 bytes of hex");
  return Buffer.from(b);
}

export function publicKeyOf(priv: string): PublicKey {
  const e = lib();
  const [x, y] = e.prv2pub(privBytes(priv));
  return { ax: e.F.toObject(x), ay: e.F.toObject(y) };
}

export function signMessage(priv: string, message: bigint): Signature {
  const e = lib();
  const sig = e.signPoseidon(privBytes(priv), e.F.e(message));
  return { r8x: e.F.toObject(sig.R8[0]), r8y: e.F.toObject(sig.R8[1]), s: sig.S };
}

/**
 * Verifies through core/eddsa-fast.ts: circomlibjs' verifyPoseidon semantics (does not need initCrypto()),
 * except that it also rejects small-order keys (the circuit cannot prove those), coordinates outside
 * [0, r) and S < 0. See that module's comment.
 */
export function verifySignature(message: bigint, sig: Signature, pub: PublicKey): boolean {
  return verifyFast(message, sig, pub);
}

/**
 * How a rule check verifies a signature: verifySignature by default. The sequencer passes a function
 * that answers for a (message, signature, key) triple it has already verified (off the main thread)
 * and calls verifySignature for anything else, so the accepted set is the same.
 */
export type SignatureCheck = (message: bigint, sig: Signature, pub: PublicKey) => boolean;

/** Baby Jubjub curve membership (twisted Edwards a=168700, d=168696 over the BN254 field). */
export function isOnCurve(p: PublicKey): boolean {
  const r = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
  if (p.ax < 0n || p.ax >= r || p.ay < 0n || p.ay >= r) return false;
  const x2 = (p.ax * p.ax) % r;
  const y2 = (p.ay * p.ay) % r;
  return (168700n * x2 + y2) % r === (1n + ((168696n * x2) % r) * y2) % r;
}
