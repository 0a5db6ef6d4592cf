/**
 * Which batch shape to cut (PROTOCOL.md §5.5), pure. Every shape of a deployment is its own circuit;
 * proving one costs about its constraint count, whatever its slots hold. So:
 * - when one shape holds everything that is waiting, cut the cheapest such shape: a quiet sequencer
 *   proves small batches and finality stays short;
 * - otherwise (a backlog) cut the shape that carries the most per unit of proving cost: throughput,
 *   and no constraints spent on slots of a type nothing is waiting for. A batch's proving cost is its
 *   constraints plus a fixed cost per batch (`batchOverhead`: witness start-up, verification,
 *   dispatch, one L1 submission), so under a backlog a small shape that carries as much per constraint
 *   as a large one loses to it.
 * What a shape carries is what `takeBatchTxs` takes for it (a prefix of the pending operations in
 * acceptance order, so a shape without transfer slots takes nothing past a waiting transfer) plus
 * the queue records that fit its L1 slots. Queue records that must go now (a forced withdrawal,
 * which has an L1 deadline, or a record older than the batch timeout) rule out shapes without L1
 * slots, so a stream of trades cannot starve the L1 queue.
 */
import { shapeKey, shapesOf, type Params, type Shape } from "../core/params";

/** A shape and what proving it costs, in constraints (measured at compile, or `estimateConstraints`). */
export interface ShapeCost {
  readonly shape: Shape;
  readonly constraints: number;
}

/** A shape's circuit as the sequencer proves and checks it. */
export interface ShapeCircuit extends ShapeCost {
  /** The circuit hash its proof jobs name (prover/types.ts ProofJob.circuitHash). */
  readonly circuitHash?: string;
  /** The verification key its proofs are checked against. */
  readonly vkeyPath?: string;
}

/** What one shape would carry if cut now. */
export interface ShapeLoad {
  readonly cost: ShapeCost;
  /** Pending operations it takes (transfers, withdrawals and fills). */
  readonly operations: number;
  /** Queue records it takes. */
  readonly records: number;
}

export interface ShapeChoiceInput {
  /** Each shape with what it would carry. */
  readonly loads: readonly ShapeLoad[];
  /** Everything waiting: pending operations and unconsumed queue records. */
  readonly pendingOperations: number;
  readonly queuedRecords: number;
  /** True when queue records must be consumed now (a forced withdrawal, or the oldest waited past the batch timeout). */
  readonly queueDue: boolean;
  /** The fixed cost of a batch in constraint-equivalents, added to each shape's constraints under a backlog (default 0). */
  readonly batchOverhead?: number;
}

/**
 * A batch's fixed proving cost in constraint-equivalents: the intercept of proof wall time against
 * constraints over the default config's three shapes, native prover on 2 cores (513 ms at 12.9 µs per
 * constraint: 39,863; `npx tsx bench/shape-proofs.ts`, PERFORMANCE.md, Batch shapes), rounded.
 */
export const BATCH_OVERHEAD_CONSTRAINTS = 40_000;

/**
 * The shape to cut, or null when no shape would carry anything. Ties go to fewer constraints, then
 * to the deployment's order of shapes.
 */
export function chooseShape(c: ShapeChoiceInput): ShapeLoad | null {
  let candidates = c.loads.filter((l) => l.operations + l.records > 0);
  if (c.queueDue && c.queuedRecords > 0) {
    const withQueue = candidates.filter((l) => l.records > 0);
    if (withQueue.length > 0) candidates = withQueue;
  }
  if (candidates.length === 0) return null;
  const holdsAll = candidates.filter((l) => l.operations === c.pendingOperations && l.records === c.queuedRecords);
  if (holdsAll.length > 0) return holdsAll.reduce((best, l) => (l.cost.constraints < best.cost.constraints ? l : best));
  // Carried items per unit of cost, compared by cross-multiplication (integers, no rounding).
  const overhead = c.batchOverhead ?? 0;
  return candidates.reduce((best, l) => {
    const a = (l.operations + l.records) * (best.cost.constraints + overhead);
    const b = (best.operations + best.records) * (l.cost.constraints + overhead);
    if (a !== b) return a > b ? l : best;
    return l.cost.constraints < best.cost.constraints ? l : best;
  });
}

/**
 * A shape's constraints estimated from its slot counts, for when none was measured (a sequencer
 * started without compiling its circuits, as in tests). Per-slot figures of the default trees
 * (PERFORMANCE.md, Constraints), public-data hashing included; only their ratios matter here.
 */
export function estimateConstraints(s: Shape): number {
  const HEADER = 74_000;
  const L2_SLOT = 22_000 + 7_108;
  const FILL_SLOT = 36_000 + 24_168;
  const L1_SLOT = 8_000 + 7_580;
  return HEADER + s.l2Slots * L2_SLOT + s.fillSlots * FILL_SLOT + s.depositSlots * L1_SLOT;
}

/**
 * The cost of every shape of p, in p's order: the measured figures where given (each must be one of
 * p's shapes, none twice), estimates for the others.
 */
export function shapeCostsFor(p: Params, measured: readonly ShapeCost[] = []): ShapeCost[] {
  const shapes = shapesOf(p);
  const byKey = new Map<string, number>();
  for (const m of measured) {
    const k = shapeKey(m.shape);
    if (!shapes.some((s) => shapeKey(s) === k)) throw new Error(`shape ${k} is not one of the deployment's (${shapes.map(shapeKey).join(", ")})`);
    if (byKey.has(k)) throw new Error(`shape ${k} has two costs`);
    if (!Number.isInteger(m.constraints) || m.constraints < 1) throw new Error(`shape ${k}: constraints must be a positive integer`);
    byKey.set(k, m.constraints);
  }
  return shapes.map((shape) => ({ shape, constraints: byKey.get(shapeKey(shape)) ?? estimateConstraints(shape) }));
}
