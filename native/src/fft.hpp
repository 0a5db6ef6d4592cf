// Radix-2 number-theoretic transform over Fr, natural order in and out.
#pragma once
#include <vector>
#include "field.hpp"

namespace modex {

// A primitive 2^k-th root of unity: 5^((r−1)/2^k), as snarkjs (ffjavascript) defines Fr.w[k].
inline Fr rootOfUnity(unsigned k) {
  // 5^((r−1)/2^28) in Montgomery form; squaring it 28 − k times gives the 2^k-th root.
  Fr w{{0x636e735580d13d9cULL, 0xa22bf3742445ffd6ULL, 0x56452ac01eb203d8ULL, 0x1860ef942963f9e7ULL}};
  for (unsigned i = k; i < 28; i++) w = Fr::sqr(w);
  return w;
}

// In place: a[j] ← Σᵢ a[i]·root^{ij}, n = 2^k.
inline void fft(Fr* a, size_t n, const Fr& root) {
  if (n <= 1) return;
  for (size_t i = 1, j = 0; i < n; i++) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  std::vector<Fr> tw(n / 2);
  tw[0] = Fr::one();
  for (size_t i = 1; i < n / 2; i++) tw[i] = Fr::mul(tw[i - 1], root);
  for (size_t len = 2; len <= n; len <<= 1) {
    const size_t half = len >> 1, stride = n / len;
    for (size_t i = 0; i < n; i += len) {
      for (size_t j = 0; j < half; j++) {
        Fr u = a[i + j];
        Fr v = Fr::mul(a[i + j + half], tw[j * stride]);
        a[i + j] = Fr::add(u, v);
        a[i + j + half] = Fr::sub(u, v);
      }
    }
  }
}

// Inverse transform, scaled by 1/n (snarkjs' Fr.ifft).
inline void ifft(Fr* a, size_t n, const Fr& root) {
  fft(a, n, Fr::inv(root));
  Fr nInv = Fr::inv(Fr::fromU64(n));
  for (size_t i = 0; i < n; i++) a[i] = Fr::mul(a[i], nInv);
}

}  // namespace modex
