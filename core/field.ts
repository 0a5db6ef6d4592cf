/** BN254 scalar field helpers. */

export const FIELD_MODULUS =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export const MAX_U128 = (1n << 128n) - 1n;
export const MAX_U32 = (1n << 32n) - 1n;

export function isFieldElement(x: bigint): boolean {
  return x >= 0n && x < FIELD_MODULUS;
}

/** Big-endian bytes of a non-negative integer, left-padded to `length`. */
export function toBytesBE(value: bigint, length: number): Uint8Array {
  if (value < 0n) throw new RangeError("negative value");
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError(`value does not fit in ${length} bytes`);
  return out;
}

export function fromBytesBE(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function toHex(bytes: Uint8Array): `0x${string}` {
  return `0x${Buffer.from(bytes).toString("hex")}`;
}

export function fromHex(hex: string): Uint8Array {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new Error(`invalid hex: ${hex}`);
  return new Uint8Array(Buffer.from(h, "hex"));
}

/** 0x-prefixed 32-byte hex of a field element. */
export function fieldToHex(x: bigint): `0x${string}` {
  return toHex(toBytesBE(x, 32));
}
