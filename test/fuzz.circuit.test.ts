/**
 * Soundness hunting on the batch circuit (its pubdata model, circuits/batch.ts): every witness a
 * malicious prover can make either fails a constraint, or fails the contract's checks, or publishes
 * exactly what core's replay of the same data publishes (root, bytes, L1 credits).
 *
 * The named cases are holes found by review; the fuzzer run is what finds the next one
 * (`npm run bench -- --only fuzz` runs 10,000 mutants).
 */
import { FLOAT16, initCrypto, packMessage, poseidon, signMessage, QUEUE_FORCED_EXIT, type CircuitInput } from "../core";
import { PubdataModel } from "./fuzz/witness-model";
import { FuzzScenario, Rng, type BaseBatch } from "./fuzz/scenario";
import { l1Signals, reencodeFloat } from "./fuzz/mutators";
import { judge } from "./fuzz/judge";
import { FUZZ_PARAMS, runFuzz } from "./fuzz/run";

let model: PubdataModel;

beforeAll(async () => {
  await initCrypto();
  model = await PubdataModel.load(FUZZ_PARAMS);
});

/** A scenario with 6 accounts funded in 4 tokens. */
function scenario(seed: number): FuzzScenario {
  const w = new FuzzScenario(FUZZ_PARAMS, new Rng(seed));
  w.setup(6);
  return w;
}

describe("holes found by review, each refused at a named constraint", () => {
  test("L1 records in slots [empty, victim's forced exit, attacker's forced exit]: refused by PrefixFlags", async () => {
    const w = scenario(11);
    // The victim (account 2) holds 10^12 of token 0; the attacker (account 3) asks for token 1 as well.
    const victim = { kind: QUEUE_FORCED_EXIT, accountId: 2, token: 0, amount: 0n, ax: 0n, ay: 0n } as const;
    const attacker = { kind: QUEUE_FORCED_EXIT, accountId: 3, token: 1, amount: 0n, ax: 0n, ay: 0n } as const;
    const base = w.batchOf([victim, attacker]);
    expect(base.batch.forcedExits).toEqual([10n ** 12n, 10n ** 12n, 0n]);
    // As core lays them out, it is accepted with core's outcome.
    expect(await judge(model, w.shadow, base, base.batch.circuitInput)).toEqual({ kind: "accepted-equivalent" });
    // Shifted one slot: the contract would credit the victim forcedExits[0] = 0 and the attacker forcedExits[1].
    const shifted: CircuitInput = { ...structuredClone(base.batch.circuitInput), ...l1Signals(w.shadow, [null, victim, attacker]) };
    expect(await judge(model, w.shadow, base, shifted)).toEqual({ kind: "rejected-circuit", template: "PrefixFlags" });
    // Any gap at all.
    const gap: CircuitInput = { ...structuredClone(base.batch.circuitInput), ...l1Signals(w.shadow, [victim, null, attacker]) };
    expect(await judge(model, w.shadow, base, gap)).toEqual({ kind: "rejected-circuit", template: "PrefixFlags" });
  });

  test("a fill fee in another float encoding of the same value (unsigned, the prover's choice): refused by DecodeFloat", async () => {
    const w = scenario(12);
    const other = (b: BaseBatch): bigint | null => reencodeFloat(FLOAT16, BigInt((b.batch.circuitInput.fill_sellFeeF as string[])[0]), new Rng(1));
    const base = w.nextWith((b) => b.batch.circuitInput.fill_isFill[0] === "1" && other(b) !== null);
    const input = structuredClone(base.batch.circuitInput);
    (input.fill_sellFeeF as string[])[0] = String(other(base));
    // Without the rule: the same state, but bytes core never publishes (the auditor and the exit tool's rebuild re-encode).
    expect(await judge(model, w.shadow, base, input)).toEqual({ kind: "rejected-circuit", template: "DecodeFloat" });
  });
});

describe("signatures are bound to the deployment (PROTOCOL.md §4.4)", () => {
  test("a transfer signed for another rollup on the same chain: refused by the signature check; a witness naming that rollup: not the contract's pubdata", async () => {
    const w = scenario(13);
    const base = w.nextWith((b) => (b.batch.circuitInput.l2_opType as string[])[0] === "2");
    const i = base.batch.circuitInput;
    const at = (name: string): string => (i[name] as string[])[0];
    const packed = packMessage({
      type: 2, from: Number(at("l2_from")), to: Number(at("l2_to")), token: Number(at("l2_token")), amountF: BigInt(at("l2_amountF")),
      feeF: BigInt(at("l2_feeF")), nonce: BigInt(at("l2_a_nonce")), validUntil: Number(at("l2_validUntil")), chainId: Number(i.chainId),
    });
    const other = 0xcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdn;
    const sig = signMessage(w.keys[Number(at("l2_from"))], poseidon([packed, other]));
    const forged = structuredClone(i);
    (forged.l2_sigR8x as string[])[0] = String(sig.r8x);
    (forged.l2_sigR8y as string[])[0] = String(sig.r8y);
    (forged.l2_sigS as string[])[0] = String(sig.s);
    expect(await judge(model, w.shadow, base, forged)).toEqual({ kind: "rejected-circuit", template: "ForceEqualIfEnabled" });
    // The prover names the other deployment so that the signature verifies: the pubdata then carries
    // that address, and this contract hashes its own (address(this)).
    expect(await judge(model, w.shadow, base, { ...forged, rollup: String(other) })).toMatchObject({ kind: "rejected-contract" });
  });
});

describe("witness-mutation fuzzer", () => {
  test("300 mutants of random valid batches: none accepted-divergent", async () => {
    const r = await runFuzz({ mutants: 300, seed: 20261207 }, model);
    const summary = { ...r, divergences: r.divergences.slice(0, 5) };
    expect(r.divergences).toEqual([]);
    expect(r.acceptedDivergent).toBe(0);
    // The run exercised both sides: mutants refused at several templates, and valid alternatives.
    expect(r.tried).toBe(300);
    expect(Object.keys(r.rejectedAt).length).toBeGreaterThan(3);
    expect(r.acceptedEquivalent).toBeGreaterThan(0);
    expect(summary.baseBatches).toBeGreaterThan(5);
  });
});
