pragma circom 2.1.0;

// n flags (each 0 or 1) set on a prefix: flags[i] = 1 implies flags[i - 1] = 1.
// The L1 slots use it (PROTOCOL.md §5.1): the contract reads the exit amount of the k-th record
// a batch consumes at slot k, so the consumed records must fill the first slots, in queue order.
// A gap ([0, 1, …]) would let a prover move one record's exit amount onto another's credit.
template PrefixFlags(n) {
    signal input flags[n];
    for (var i = 0; i < n; i++) flags[i] * (flags[i] - 1) === 0;
    for (var i = 1; i < n; i++) flags[i] * (1 - flags[i - 1]) === 0;
}
