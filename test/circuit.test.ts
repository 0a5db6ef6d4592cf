/**
 * The batch circuit accepts exactly the transitions core/ accepts.
 * Valid: random batches built by core/ have a witness, and the circuit's roots equal core's.
 * Invalid: for every rule, a batch that breaks only that rule — built consistently by core's
 * execute* functions with the rule check bypassed — has no witness; the test names the
 * circuit template that refuses it.
 */
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import * as transferOp from "../core/ops/transfer";
import * as withdrawOp from "../core/ops/withdraw";
import * as depositOp from "../core/ops/deposit";
import {
  CONFIGS, initCrypto, publicSignalsOf, encodePubdata, decodePubdata, headerBytes, generatePrivateKey, publicKeyOf, QUEUE_REGISTER,
  QUEUE_FORCED_EXIT, packQueueRecord, poseidon, toBytesBE, type BatchResult, type CircuitInput,
} from "../core";
import type { CompiledCircuit } from "../circuits/compile";
import { batchCircuit, witness, witnessError, circuitRoots } from "./helpers/circuit";
import { World, CHAIN_ID } from "./helpers/world";
import { testCircuitKeys } from "./helpers/keys";
import { releaseSnarkjsCurve } from "../prover/keys";

const P = CONFIGS.test;
let circuit: CompiledCircuit;

beforeAll(async () => {
  await initCrypto();
  circuit = await batchCircuit(P);
});

afterEach(() => jest.restoreAllMocks());
afterAll(() => releaseSnarkjsCurve());

/** Bypasses core's rule checks so a batch that breaks a rule can still be built consistently. */
function uncheckedOps(): void {
  jest.spyOn(transferOp, "applyTransfer").mockImplementation((s, tx) => transferOp.executeTransfer(s, tx));
  jest.spyOn(withdrawOp, "applyWithdraw").mockImplementation((s, tx) => withdrawOp.executeWithdraw(s, tx));
  jest.spyOn(depositOp, "applyQueueRecord").mockImplementation((s, r) => depositOp.executeQueueRecord(s, r));
}

/** Replaces the public inputs (the data digest and the four header words, §5.2) by those of `pubdata` as modified by `edit`. */
function withPubdata(b: BatchResult, edit: (bytes: Uint8Array) => void, input: CircuitInput = b.circuitInput): CircuitInput {
  const bytes = Uint8Array.from(b.pubdata);
  edit(bytes);
  const [publicInput, oldRoot, newRoot, queueHashBefore, queueHashAfter] = publicSignalsOf(bytes).map(String);
  return { ...input, publicInput, oldRoot, newRoot, queueHashBefore, queueHashAfter };
}

function world(accounts = 4, balance = 1_000_000n): World {
  const w = new World(P);
  w.registerAccounts(accounts, 1, balance);
  return w;
}

async function expectRefused(input: CircuitInput, template: RegExp): Promise<void> {
  const err = await witnessError(circuit, input);
  expect(err).not.toBeNull();
  expect(err).toMatch(template);
}

describe("valid batches", () => {
  test("registration, deposit, transfer, withdraw and fees: circuit roots equal core's", async () => {
    const w = world(3);
    const b = w.batch([w.deposit(2, 1, 5n)], [w.transfer(1, 2, 1, 300n, 7n), w.withdraw(2, 1, 100n, 1n)]);
    const [oldRoot, newRoot] = await circuitRoots(circuit, await witness(circuit, b.circuitInput));
    expect(oldRoot).toBe(b.oldRoot);
    expect(newRoot).toBe(b.newRoot);
    expect(w.state.balance(0, 1)).toBe(1_000_000n + 8n); // fees reached the fee account
    expect(b.withdrawals).toEqual([{ accountId: 2, token: 1, amount: 100n }]);
  });

  test("forced exit: circuit roots equal core's, the exit amount is in the hashed pubdata", async () => {
    const w = world(3);
    const b = w.batch([w.forcedExit(2, 1)], [w.transfer(1, 2, 1, 300n, 7n)]);
    expect(b.forcedExits).toEqual([1_000_000n]);
    const [oldRoot, newRoot] = await circuitRoots(circuit, await witness(circuit, b.circuitInput));
    expect([oldRoot, newRoot]).toEqual([b.oldRoot, b.newRoot]);
    expect(w.state.balance(2, 1)).toBe(300n);
    // An exit of an empty balance, too.
    const z = w.batch([w.forcedExit(1, 3)], []);
    expect(z.forcedExits).toEqual([0n]);
    expect(await circuitRoots(circuit, await witness(circuit, z.circuitInput))).toEqual([z.oldRoot, z.newRoot]);
  });

  test("a batch with a forced exit proves (Groth16, development keys) and verifies against its public input", async () => {
    const w = world(3);
    w.batch([w.deposit(1, 2, 77n)], []);
    const b = w.batch([w.forcedExit(1, 2)], [w.withdraw(2, 1, 100n, 1n)]);
    expect(b.forcedExits).toEqual([77n]);
    const { keys } = await testCircuitKeys();
    const { proof, publicSignals } = await snarkjs.groth16.fullProve(b.circuitInput, circuit.wasmPath, keys.zkeyPath);
    expect(publicSignals).toEqual(b.publicSignals.map(String));
    const vkey = JSON.parse(readFileSync(keys.vkeyPath, "utf8"));
    expect(await snarkjs.groth16.verify(vkey, publicSignals, proof)).toBe(true);
  }, 600_000);

  test("random batches", async () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const w = world(6, 10_000n);
    for (let round = 0; round < 6; round++) {
      const deposits = rnd(2) ? [w.deposit(1 + rnd(5), rnd(4), BigInt(rnd(1000)))] : rnd(2) ? [w.forcedExit(1 + rnd(5), rnd(4))] : [];
      const txs = [];
      const nonces = new Map<number, bigint>();
      for (let i = 0; i < rnd(3); i++) {
        const from = 1 + rnd(5);
        const nonce = nonces.get(from) ?? w.state.account(from).nonce;
        const amount = BigInt(rnd(50)) * 10n ** BigInt(rnd(2));
        const fee = rnd(2) ? BigInt(rnd(5)) : 0n;
        const tx = rnd(4) ? w.transfer(from, 1 + rnd(5), 1, amount, fee, { nonce }) : w.withdraw(from, 1, amount, fee, { nonce });
        nonces.set(from, nonce + 1n);
        txs.push(tx);
      }
      w.timestamp += rnd(100);
      const b = w.batch(deposits, txs);
      const [oldRoot, newRoot] = await circuitRoots(circuit, await witness(circuit, b.circuitInput));
      expect([oldRoot, newRoot]).toEqual([b.oldRoot, b.newRoot]);
    }
  });
});

describe("every rule is enforced by the circuit", () => {
  test("bad signature", async () => {
    const w = world();
    const good = w.transfer(1, 2, 1, 10n);
    const forged = { ...good, signature: w.transfer(1, 2, 1, 10n, 0n, { signer: 3 }).signature };
    uncheckedOps();
    await expectRefused(w.batch([], [forged]).circuitInput, /EdDSAPoseidonVerifier/);
  });

  test("wrong nonce (signed for a nonce the account is not at)", async () => {
    const w = world();
    uncheckedOps();
    await expectRefused(w.batch([], [w.transfer(1, 2, 1, 10n, 0n, { nonce: 5n })]).circuitInput, /EdDSAPoseidonVerifier/);
  });

  test("replay of an executed transfer", async () => {
    const w = world();
    const tx = w.transfer(1, 2, 1, 10n);
    w.batch([], [tx]);
    uncheckedOps();
    await expectRefused(w.batch([], [tx]).circuitInput, /EdDSAPoseidonVerifier/);
  });

  test("overspend", async () => {
    const w = world(4, 100n);
    uncheckedOps();
    await expectRefused(w.batch([], [w.transfer(1, 2, 1, 100n, 1n)]).circuitInput, /Num2Bits[\s\S]*L2Slot/);
  });

  test("deposit amount out of range (2^128)", async () => {
    const w = world();
    uncheckedOps();
    await expectRefused(w.batch([w.deposit(1, 1, 1n << 128n)], []).circuitInput, /Num2Bits[\s\S]*DepositSlot/);
  });

  test("receiver balance overflow", async () => {
    const w = world(4, 0n);
    w.batch([w.deposit(2, 1, (1n << 128n) - 1n)], []);
    w.batch([w.deposit(1, 1, 1000n)], []);
    uncheckedOps();
    await expectRefused(w.batch([], [w.transfer(1, 2, 1, 1n)]).circuitInput, /Num2Bits[\s\S]*L2Slot/);
  });

  test("wrong token (signed for token 1, executed on token 2)", async () => {
    const w = world();
    w.batch([w.deposit(1, 2, 1000n)], []);
    const signed = w.transfer(1, 2, 1, 10n);
    uncheckedOps();
    await expectRefused(w.batch([], [{ ...signed, token: 2 }]).circuitInput, /EdDSAPoseidonVerifier/);
  });

  test("fee in a token that is not the batch's fee token", async () => {
    const w = world();
    const b = w.batch([], [w.transfer(1, 2, 1, 10n, 3n)]);
    // The slot's fee selects no bucket.
    await expectRefused({ ...b.circuitInput, l2_feeSel: [["0", "0"], ["0", "0"]] }, /L2Slot/);
  });

  test("fee credited to a bucket of another token", async () => {
    const w = world();
    const b = w.batch([], [w.transfer(1, 2, 1, 10n, 3n)], [1, 0]);
    await expectRefused({ ...b.circuitInput, feeTokens: ["2", "0"] }, /L2Slot/);
  });

  test("expired operation", async () => {
    const w = world();
    uncheckedOps();
    await expectRefused(w.batch([], [w.transfer(1, 2, 1, 10n, 0n, { validUntil: w.timestamp - 1 })]).circuitInput, /L2Slot/);
  });

  test("transfer to an unregistered account", async () => {
    const w = world(3);
    uncheckedOps();
    await expectRefused(w.batch([], [w.transfer(1, 9, 1, 10n)]).circuitInput, /L2Slot/);
  });

  test("registration over an existing account", async () => {
    const w = world(3);
    uncheckedOps();
    const b = w.batch([{ kind: QUEUE_REGISTER, accountId: 1, token: 1, amount: 0n, ...publicKeyOf(generatePrivateKey()) }], []);
    await expectRefused(b.circuitInput, /DepositSlot/);
  });

  test("wrong old root", async () => {
    const w = world();
    const b = w.batch([], [w.transfer(1, 2, 1, 10n)]);
    const fakeRoot = b.oldRoot + 1n;
    const input = withPubdata(b, (d) => d.set(Buffer.from(fakeRoot.toString(16).padStart(64, "0"), "hex"), 0), { ...b.circuitInput, oldRoot: fakeRoot.toString() });
    await expectRefused(input, /DepositSlot/);
  });

  test("tampered public data (one chunk byte)", async () => {
    const w = world();
    const b = w.batch([], [w.transfer(1, 2, 1, 10n)]);
    const chunksAt = headerBytes(P);
    await expectRefused(withPubdata(b, (d) => (d[chunksAt + 6] ^= 1)), /Batch/);
    await expectRefused({ ...b.circuitInput, publicInput: (b.publicInput ^ 1n).toString() }, /Batch/);
    // the header words are public inputs of their own: another new root or queue position is refused
    await expectRefused({ ...b.circuitInput, newRoot: (b.newRoot + 1n).toString() }, /Batch/);
    await expectRefused({ ...b.circuitInput, queueHashAfter: (b.queueHashAfter + 1n).toString() }, /Batch/);
  });

  test("tampered withdraw bitmap (a transfer claimed as a withdrawal)", async () => {
    const w = world();
    const b = w.batch([], [w.transfer(1, 2, 1, 10n)]);
    const bitmapAt = headerBytes(P) - 1;
    await expectRefused(withPubdata(b, (d) => (d[bitmapAt] |= 0x80)), /Batch/);
  });

  test("padding that is not a noop", async () => {
    const w = world();
    const b = w.batch([], [w.transfer(1, 2, 1, 10n)]);
    const decoded = decodePubdata(P, b.pubdata);
    // The second slot is padding; claim it carries the first slot's transfer.
    const forged = encodePubdata(P, decoded, [decoded.chunks[0], decoded.chunks[0]], decoded.fillChunks, decoded.forcedExits);
    await expectRefused(withPubdata(b, (d) => d.set(forged)), /Batch/);
    // A slot typed noop that still moves funds: its balance change is not what the rules compute.
    await expectRefused({ ...b.circuitInput, l2_opType: ["0", "0"] }, /L2Slot|Batch/);
  });

  test("forced exit claiming an amount other than the balance", async () => {
    const w = world();
    const b = w.batch([w.forcedExit(1, 1)], []);
    const exitAt = b.pubdata.length - 16;
    // The public data claims more, or less, than the balance that left.
    await expectRefused(withPubdata(b, (d) => d.set(toBytesBE(1_000_001n, 16), exitAt)), /Batch/);
    await expectRefused(withPubdata(b, (d) => d.set(toBytesBE(999_999n, 16), exitAt)), /Batch/);
    // The witness claims a smaller balance (and exit): its account path no longer opens the root.
    await expectRefused({ ...b.circuitInput, dep_balance: ["999999"] }, /DepositSlot/);
    // Built consistently: core empties the balance but reports one unit less.
    jest.spyOn(depositOp, "applyQueueRecord").mockImplementation((s, r) => {
      const x = depositOp.executeQueueRecord(s, r);
      return { ...x, exitAmount: x.exitAmount - 1n };
    });
    await expectRefused(w.batch([w.forcedExit(2, 1)], []).circuitInput, /Batch/);
  });

  test("forced exit that leaves part of the balance", async () => {
    const w = world();
    // Built consistently: the slot pays out the whole balance but leaves 1 on the account.
    jest.spyOn(depositOp, "applyQueueRecord").mockImplementation((s, r) => {
      const exitAmount = s.balance(r.accountId, r.token);
      const account = s.updateAccount(r.accountId, r.token, (old) => ({ ...old, balance: 1n }));
      return { enabled: true, record: r, account, exitAmount };
    });
    await expectRefused(w.batch([w.forcedExit(1, 1)], []).circuitInput, /L2Slot/); // the next slot does not open the circuit's root
  });

  test("forced exit with a non-zero amount (the amount would be credited)", async () => {
    const w = world();
    uncheckedOps();
    // core executes it as: balance → 0, exit = old balance, then + amount; the queue hash binds amount 5 with kind 3.
    const b = w.batch([{ ...w.forcedExit(1, 1), amount: 5n }], []);
    expect(w.state.balance(1, 1)).toBe(5n);
    await expectRefused(b.circuitInput, /DepositSlot/);
  });

  test("a record flagged both registration and forced exit", async () => {
    const w = world(3);
    const r = { kind: QUEUE_REGISTER, accountId: 3, token: 1, amount: 0n, ...publicKeyOf(generatePrivateKey()) } as const;
    const before = w.queueHash;
    const b = w.batch([r], []);
    // The queue chains the record with packed kind 1 + isNew + 2·isExit = 4; everything else is the registration's.
    const queueAfter = poseidon([before, packQueueRecord(r) + ((4n - 2n) << 40n), r.ax, r.ay]);
    const input = withPubdata(b, (d) => d.set(toBytesBE(queueAfter, 32), 96), { ...b.circuitInput, dep_isExit: ["1"] });
    await expectRefused(input, /DepositSlot/);
    // Flagged forced exit alone (kind 3 chaining), the same record is refused too: the key is not written.
    const exitQueue = poseidon([before, packQueueRecord({ ...r, kind: QUEUE_FORCED_EXIT }), r.ax, r.ay]);
    await expectRefused(withPubdata(b, (d) => d.set(toBytesBE(exitQueue, 32), 96), { ...b.circuitInput, dep_isNew: ["0"], dep_isExit: ["1"] }), /L2Slot/);
  });

  test("queue record that is not the queue's (deposit amount changed)", async () => {
    const w = world();
    const b = w.batch([w.deposit(1, 1, 50n)], []);
    await expectRefused({ ...b.circuitInput, dep_amount: ["51"] }, /Batch/);
  });
});
