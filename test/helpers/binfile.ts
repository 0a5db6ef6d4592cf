/**
 * The iden3 binary container of .zkey and .wtns files (magic, version u32, section count u32, then
 * sections of type u32, size u64, bytes; little-endian), taken apart and put back together so tests
 * can hand the prover damaged or inconsistent copies of real files.
 */

export interface BinSection {
  type: number;
  data: Buffer;
}

export interface BinFile {
  magic: string;
  version: number;
  sections: BinSection[];
}

export function parseBinFile(bytes: Uint8Array): BinFile {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = b.readUInt32LE(8);
  const sections: BinSection[] = [];
  let o = 12;
  for (let i = 0; i < count; i++) {
    const type = b.readUInt32LE(o);
    const size = Number(b.readBigUInt64LE(o + 4));
    sections.push({ type, data: Buffer.from(b.subarray(o + 12, o + 12 + size)) });
    o += 12 + size;
  }
  return { magic: b.subarray(0, 4).toString("latin1"), version: b.readUInt32LE(4), sections };
}

export function serializeBinFile(f: BinFile): Buffer {
  const head = Buffer.alloc(12);
  head.write(f.magic, 0, 4, "latin1");
  head.writeUInt32LE(f.version, 4);
  head.writeUInt32LE(f.sections.length, 8);
  const parts: Buffer[] = [head];
  for (const s of f.sections) {
    const h = Buffer.alloc(12);
    h.writeUInt32LE(s.type, 0);
    h.writeBigUInt64LE(BigInt(s.data.length), 4);
    parts.push(h, s.data);
  }
  return Buffer.concat(parts);
}

/** The one section of `type` (throws if there is none). */
export function section(f: BinFile, type: number): BinSection {
  const s = f.sections.find((x) => x.type === type);
  if (!s) throw new Error(`no section ${type}`);
  return s;
}

/** Byte offset of section `type`'s data in the serialized file, and its size. */
export function sectionOffset(bytes: Uint8Array, type: number): { offset: number; size: number } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 12;
  for (let i = 0; i < b.readUInt32LE(8); i++) {
    const size = Number(b.readBigUInt64LE(o + 4));
    if (b.readUInt32LE(o) === type) return { offset: o + 12, size };
    o += 12 + size;
  }
  throw new Error(`no section ${type}`);
}

/** A deep copy (sections' bytes included), to patch without touching the original. */
export function cloneBinFile(f: BinFile): BinFile {
  return { magic: f.magic, version: f.version, sections: f.sections.map((s) => ({ type: s.type, data: Buffer.from(s.data) })) };
}

/** 32-byte little-endian field element. */
export function fieldBytes(v: bigint): Buffer {
  const out = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** BN254's scalar field modulus r. */
export const BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

// Layout of a groth16 .zkey's section 2 (header): n8q, q, n8r, r, then these u32 at these offsets.
export const ZKEY_N_VARS = 4 + 32 + 4 + 32;
export const ZKEY_N_PUBLIC = ZKEY_N_VARS + 4;
export const ZKEY_DOMAIN_SIZE = ZKEY_N_VARS + 8;
/** Section 4 (coefficients): u32 count, then per coefficient matrix u32, constraint u32, signal u32, value (32 bytes). */
export const ZKEY_COEF_SIZE = 44;
