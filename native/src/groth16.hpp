// Groth16 proving over BN254 from a snarkjs proving key (.zkey) and a circom witness (.wtns),
// producing snarkjs' JSON proof and public signals (what `snarkjs groth16 verify` reads).
#pragma once
#include <cstdint>
#include <string>

namespace modex {

struct ProofText {
  std::string proof;          // {"pi_a": [...], "pi_b": [...], "pi_c": [...], "protocol": "groth16", "curve": "bn128"}
  std::string publicSignals;  // ["...", ...]
};

struct ProveStats {
  unsigned threads = 0;
  uint32_t nVars = 0, nPublic = 0, domainSize = 0;
  double abcMs = 0, fftMs = 0, msmMs = 0, totalMs = 0;
};

// threads = 0: every core. Throws std::runtime_error whose message starts with "zkey:", "wtns:" or "prove:".
ProofText groth16Prove(const uint8_t* zkey, uint64_t zkeySize, const uint8_t* wtns, uint64_t wtnsSize, unsigned threads, ProveStats* stats);

unsigned defaultThreads();
bool hasAdxMultiplication();

}  // namespace modex
