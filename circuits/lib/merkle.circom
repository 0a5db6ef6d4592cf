pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";

// One-hot decoding of k binary signals: out[j] = 1 iff bits (LSB first) encode j.
// The caller guarantees the bits are binary.
template OneHot(k) {
    signal input bits[k];
    signal output out[1 << k];

    // Build the products bit by bit: level m holds 2^m partial one-hots over bits[0..m).
    signal partial[k + 1][1 << k];
    partial[0][0] <== 1;
    for (var m = 0; m < k; m++) {
        for (var j = 0; j < (1 << m); j++) {
            partial[m + 1][j + (1 << m)] <== partial[m][j] * bits[m];
            partial[m + 1][j] <== partial[m][j] - partial[m + 1][j + (1 << m)];
        }
    }
    for (var j = 0; j < (1 << k); j++) out[j] <== partial[k][j];
}

// One leaf of a sparse Merkle tree of arity 2^arityBits, changed from oldLeaf to newLeaf.
// Computes the root before and after with the same siblings, so the caller proves
// the old root and obtains the new one. indexBits are the leaf index, LSB first (binary).
template MerkleUpdate(arityBits, levels) {
    var arity = 1 << arityBits;
    signal input indexBits[arityBits * levels];
    signal input oldLeaf;
    signal input newLeaf;
    // siblings[l]: the other arity-1 children at level l, in position order.
    signal input siblings[levels][arity - 1];
    signal output oldRoot;
    signal output newRoot;

    signal oldNode[levels + 1];
    signal newNode[levels + 1];
    oldNode[0] <== oldLeaf;
    newNode[0] <== newLeaf;

    signal isPos[levels][arity];      // one-hot of the path's position at this level
    signal sibAt[levels][arity];      // the sibling that lands at child j unless j is the path's position
    signal oldChild[levels][arity];
    signal newChild[levels][arity];
    signal before[levels][arity];     // 1 iff j < position

    for (var l = 0; l < levels; l++) {
        // Position at this level.
        var bits[arityBits];
        for (var b = 0; b < arityBits; b++) bits[b] = indexBits[l * arityBits + b];
        isPos[l] <== OneHot(arityBits)(bits);

        // Child j is sibling j when j < position, the path node when j = position, sibling j-1 after.
        for (var j = 0; j < arity; j++) {
            var acc = 0;
            for (var m = j + 1; m < arity; m++) acc += isPos[l][m];
            before[l][j] <== acc;
            if (j == 0) {
                sibAt[l][j] <== siblings[l][0];
            } else if (j == arity - 1) {
                sibAt[l][j] <== siblings[l][arity - 2];
            } else {
                sibAt[l][j] <== siblings[l][j - 1] + before[l][j] * (siblings[l][j] - siblings[l][j - 1]);
            }
            oldChild[l][j] <== sibAt[l][j] + isPos[l][j] * (oldNode[l] - sibAt[l][j]);
            newChild[l][j] <== sibAt[l][j] + isPos[l][j] * (newNode[l] - sibAt[l][j]);
        }
        oldNode[l + 1] <== Poseidon(arity)(oldChild[l]);
        newNode[l + 1] <== Poseidon(arity)(newChild[l]);
    }
    oldRoot <== oldNode[levels];
    newRoot <== newNode[levels];
}
