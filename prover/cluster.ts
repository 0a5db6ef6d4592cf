/** Cluster mode (BullMQ on Redis): the sequencer-side Prover. Being written. */
export {};
