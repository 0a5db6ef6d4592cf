// Multi-scalar multiplication Σ kᵢ·Pᵢ by Pippenger's bucket method.
//
// The points are split into one contiguous chunk per thread (so sparse scalars, e.g. the many 0/1 values
// of a witness, balance across threads); each chunk runs Pippenger over windows of c bits, and only as
// many windows as its largest scalar needs. Points are read with memcpy: in a .zkey they sit at 4-byte
// aligned offsets.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>
#include "curve.hpp"

namespace modex {

inline unsigned scalarBits(const uint64_t* k) {
  for (int i = 3; i >= 0; i--) {
    if (k[i]) return 64 * i + 64 - __builtin_clzll(k[i]);
  }
  return 0;
}

inline uint32_t scalarDigit(const uint64_t* k, unsigned offset, unsigned c) {
  const unsigned limb = offset >> 6, shift = offset & 63;
  if (limb >= 4) return 0;
  uint64_t v = k[limb] >> shift;
  if (shift + c > 64 && limb < 3) v |= k[limb + 1] << (64 - shift);
  return (uint32_t)(v & ((1ULL << c) - 1));
}

// Window width for n points: cost ≈ (bits/c)·(n + 2·2^c) additions, minimal near c = log2(n) − 4.
inline unsigned msmWindowBits(size_t n) {
  unsigned lg = 0;
  while ((size_t(1) << (lg + 1)) <= n) lg++;
  int c = (int)lg - 4;
  if (const char* e = std::getenv("MODEX_MSM_C_DELTA")) c += std::atoi(e);
  return (unsigned)std::max(2, std::min(16, c));
}

template <class F>
Jacobian<F> msmChunk(const uint8_t* points, const uint64_t* scalars, size_t n) {
  typedef Jacobian<F> J;
  typedef Affine<F> A;
  unsigned maxBits = 0;
  for (size_t i = 0; i < n; i++) maxBits = std::max(maxBits, scalarBits(scalars + 4 * i));
  if (maxBits == 0) return J::infinity();
  const unsigned c = msmWindowBits(n);
  const unsigned windows = (maxBits + c - 1) / c;
  std::vector<J> buckets(size_t(1) << c);
  J acc = J::infinity();
  for (int w = (int)windows - 1; w >= 0; w--) {
    for (unsigned d = 0; d < c; d++) acc = J::dbl(acc);
    std::fill(buckets.begin(), buckets.end(), J::infinity());
    uint32_t top = 0;
    for (size_t i = 0; i < n; i++) {
      const uint32_t digit = scalarDigit(scalars + 4 * i, (unsigned)w * c, c);
      if (!digit) continue;
      A p;
      std::memcpy(&p, points + i * sizeof(A), sizeof(A));
      buckets[digit] = J::addMixed(buckets[digit], p);
      if (digit > top) top = digit;
    }
    // Σ d·bucket[d] as running sums from the top bucket down.
    J running = J::infinity(), sum = J::infinity();
    for (uint32_t d = top; d >= 1; d--) {
      running = J::add(running, buckets[d]);
      sum = J::add(sum, running);
    }
    acc = J::add(acc, sum);
  }
  return acc;
}

template <class F>
Jacobian<F> msm(const uint8_t* points, const uint64_t* scalars, size_t n, unsigned threads) {
  typedef Jacobian<F> J;
  if (n == 0) return J::infinity();
  size_t T = std::max<size_t>(1, std::min<size_t>(threads, n / 512));
  if (T == 1) return msmChunk<F>(points, scalars, n);
  std::vector<J> parts(T, J::infinity());
  std::vector<std::thread> pool;
  const size_t chunk = (n + T - 1) / T;
  for (size_t t = 0; t < T; t++) {
    const size_t start = t * chunk;
    if (start >= n) break;
    const size_t len = std::min(chunk, n - start);
    pool.emplace_back([&, t, start, len] { parts[t] = msmChunk<F>(points + start * sizeof(Affine<F>), scalars + 4 * start, len); });
  }
  for (auto& th : pool) th.join();
  J r = J::infinity();
  for (auto& p : parts) r = J::add(r, p);
  return r;
}

}  // namespace modex
