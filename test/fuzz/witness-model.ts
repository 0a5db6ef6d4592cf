/**
 * The batch circuit's pubdata model (circuits/batch.ts batchModelSource) behind one reusable witness
 * calculator: for a circuit input it says whether every constraint holds and, when they do, the
 * public data the witness publishes. Witness checking only, no proving.
 */
import { readFileSync } from "node:fs";
import { WitnessCalculatorBuilder } from "circom_runtime";
import { compileCircuit, type CompiledCircuit } from "../../circuits/compile";
import { batchModelName, batchModelSource } from "../../circuits/batch";
import { pubdataBytes, type Params } from "../../core";
import type { CircuitInput } from "../../core/batch";

export type ModelVerdict =
  | { readonly ok: true; readonly pubdata: Uint8Array }
  /** `template` is the circom template whose constraint failed (from the calculator's message). */
  | { readonly ok: false; readonly error: string; readonly template: string };

interface WitnessCalculator {
  calculateWitness(input: CircuitInput, sanityCheck: boolean): Promise<bigint[]>;
}

export class PubdataModel {
  private traceSeen = 0;

  private constructor(
    readonly params: Params,
    readonly circuit: CompiledCircuit,
    private readonly wc: WitnessCalculator,
  ) {}

  static async load(p: Params): Promise<PubdataModel> {
    const circuit = await compileCircuit({ name: batchModelName(p), mainSource: batchModelSource(p), log: () => {} });
    const wc = (await WitnessCalculatorBuilder(readFileSync(circuit.wasmPath))) as WitnessCalculator;
    return new PubdataModel(p, circuit, wc);
  }

  /** Runs the witness calculator; the outputs (witness signals 1..8·bytes) are the pubdata bits, MSB first. */
  async publish(input: CircuitInput): Promise<ModelVerdict> {
    let w: bigint[];
    // circom_runtime prints every failed assertion; a fuzzer fails thousands on purpose.
    const [print, printError] = [console.log, console.error];
    console.log = console.error = () => {};
    try {
      w = await this.wc.calculateWitness(input, true);
    } catch (e) {
      // The runtime appends each failure's template trace to one string it never clears: keep the new part.
      const message = (e as Error).message;
      const cut = message.indexOf(". ");
      const [kind, trace] = cut < 0 ? ["", message] : [message.slice(0, cut + 1), message.slice(cut + 2)];
      const fresh = trace.length >= this.traceSeen ? trace.slice(this.traceSeen) : trace;
      this.traceSeen = trace.length;
      const error = `${kind} ${fresh}`.trim();
      const m = /Error in template (\w+?)(?:_\d+)? line: \d+/.exec(fresh);
      return { ok: false, error, template: m ? m[1] : "unknown" };
    } finally {
      [console.log, console.error] = [print, printError];
    }
    const n = pubdataBytes(this.params);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let b = 0;
      for (let k = 0; k < 8; k++) b = (b << 1) | Number(w[1 + 8 * i + k]);
      out[i] = b;
    }
    return { ok: true, pubdata: out };
  }
}
