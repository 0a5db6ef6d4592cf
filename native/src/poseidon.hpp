// Poseidon over BN254's scalar field, circomlib's parameters (x^5 S-box, 8 full rounds, t = inputs + 1).
//
// The round constants C and the MDS matrix M are not compiled in: core/poseidon.ts hands poseidon-lite's
// tables to poseidonInit once per arity. From them, init() derives an equivalent, cheaper schedule:
//   - partial-round constants are pushed forward through the linear layer, so a partial round adds a
//     constant to state[0] only (the rest is folded into the next round's constants);
//   - the partial rounds' M is factored into sparse matrices S_r = [[a, bᵀ], [c, I]] (2t − 1 products
//     instead of t²), the block-diagonal remainders being pushed back into the last full round before
//     them. Same function, exactly (the tests compare every arity with poseidon-lite and circomlibjs).
#pragma once
#include <vector>
#include "field.hpp"

namespace modex {

struct Poseidon {
  int t = 0;       // state width: inputs + 1
  int rp = 0;      // partial rounds
  std::vector<Fr> cFull;   // 8 rounds × t constants (the first second-half round includes the pushed constants)
  std::vector<Fr> m;       // t × t, row-major: out[i] = Σ_j m[i·t + j]·in[j]
  std::vector<Fr> mLast;   // D_0 · M for the last full round before the partial rounds
  std::vector<Fr> kPartial;  // rp constants added to state[0]
  std::vector<Fr> sparse;  // rp × (2t − 1): a, b[1..t−1], c[1..t−1]

  // c: (8 + rp)·t round constants, mds: t·t (row-major), as field elements (Montgomery form, Fr::fromStd).
  // Returns false if the sizes do not fit or a derived matrix is singular.
  bool init(int width, const std::vector<Fr>& c, const std::vector<Fr>& mds);

  // in: t − 1 field elements (Montgomery form). Returns Poseidon(in) (Montgomery form).
  Fr hash(const Fr* in) const;
};

// The table for `inputs` (1..16) inputs, or null if poseidonInit has not been called for it.
const Poseidon* poseidonFor(int inputs);
bool poseidonInit(int inputs, const std::vector<Fr>& c, const std::vector<Fr>& mds);

}  // namespace modex
