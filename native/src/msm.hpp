// Multi-scalar multiplication Σ kᵢ·Pᵢ by Pippenger's bucket method.
//
// Each thread takes an equal share of the non-trivial scalars and runs Pippenger over windows of c bits,
// only as many windows as the largest scalar needs. Points are read with memcpy: in a .zkey they sit at
// 4-byte aligned offsets.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
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
  return (unsigned)std::max(2, std::min(16, c));
}

// Pippenger with affine buckets (Σ over one window of c bits):
// - A point whose scalar is 1 (a third of a typical witness) is summed on its own: in a bucket method
//   they would all fall into bucket 1 and serialize.
// - Each bucket is an affine point; additions into buckets are queued and done BATCH at a time with one
//   shared inversion (Montgomery's trick), ≈ 6 multiplications per addition instead of 11 for a
//   Jacobian+affine addition. A bucket already waiting in the queue, or an addition with equal x
//   (doubling or cancellation), goes to that bucket's Jacobian overflow instead.
template <class F>
struct AffineBuckets {
  typedef Jacobian<F> J;
  typedef Affine<F> A;
  static constexpr size_t BATCH = 1024;
  enum : uint8_t { EMPTY = 0, READY = 1, QUEUED = 2 };

  std::vector<A> bucket;
  std::vector<uint8_t> state;
  std::vector<J> overflow;
  std::vector<uint8_t> hasOverflow;
  uint32_t queueBucket[BATCH];
  A queuePoint[BATCH];
  F denom[BATCH], prefix[BATCH];
  size_t queued = 0;

  explicit AffineBuckets(unsigned c) : bucket(size_t(1) << c), state(size_t(1) << c), overflow(size_t(1) << c), hasOverflow(size_t(1) << c) {}

  void reset() {
    std::fill(state.begin(), state.end(), (uint8_t)EMPTY);
    std::fill(hasOverflow.begin(), hasOverflow.end(), (uint8_t)0);
  }

  void toOverflow(uint32_t d, const A& p) {
    if (!hasOverflow[d]) {
      overflow[d] = J::fromAffine(p);
      hasOverflow[d] = 1;
    } else {
      overflow[d] = J::addMixed(overflow[d], p);
    }
  }

  void add(uint32_t d, const A& p) {
    if (state[d] == EMPTY) {
      bucket[d] = p;
      state[d] = READY;
      return;
    }
    if (state[d] == QUEUED || p.x == bucket[d].x) {
      toOverflow(d, p);
      return;
    }
    queueBucket[queued] = d;
    queuePoint[queued] = p;
    denom[queued] = F::sub(p.x, bucket[d].x);
    state[d] = QUEUED;
    if (++queued == BATCH) flush();
  }

  void flush() {
    if (queued == 0) return;
    prefix[0] = denom[0];
    for (size_t i = 1; i < queued; i++) prefix[i] = F::mul(prefix[i - 1], denom[i]);
    F inv = F::inv(prefix[queued - 1]);
    for (size_t i = queued; i-- > 0;) {
      const F invI = i > 0 ? F::mul(inv, prefix[i - 1]) : inv;
      if (i > 0) inv = F::mul(inv, denom[i]);
      const uint32_t d = queueBucket[i];
      const A& p = queuePoint[i];
      A& b = bucket[d];
      const F lambda = F::mul(F::sub(p.y, b.y), invI);
      const F x3 = F::sub(F::sub(F::sqr(lambda), b.x), p.x);
      b.y = F::sub(F::mul(lambda, F::sub(b.x, x3)), b.y);
      b.x = x3;
      state[d] = READY;
    }
    queued = 0;
  }

  // Σ d·bucket[d] for d ≤ top, as running sums from the top down.
  J sum(uint32_t top) {
    flush();
    J running = J::infinity(), total = J::infinity();
    for (uint32_t d = top; d >= 1; d--) {
      if (state[d] != EMPTY) running = J::addMixed(running, bucket[d]);
      if (hasOverflow[d]) running = J::add(running, overflow[d]);
      total = J::add(total, running);
    }
    return total;
  }
};

// Σ kᵢ·Pᵢ over the points listed in idx (every scalar there has at least 2 bits).
template <class F>
Jacobian<F> msmBuckets(const uint8_t* points, const uint64_t* scalars, const uint32_t* idx, size_t m, unsigned maxBits) {
  typedef Jacobian<F> J;
  typedef Affine<F> A;
  if (m == 0) return J::infinity();
  const unsigned c = msmWindowBits(m);
  const unsigned windows = (maxBits + c - 1) / c;
  std::unique_ptr<AffineBuckets<F>> buckets(new AffineBuckets<F>(c));
  J acc = J::infinity();
  for (int w = (int)windows - 1; w >= 0; w--) {
    for (unsigned d = 0; d < c; d++) acc = J::dbl(acc);
    buckets->reset();
    uint32_t top = 0;
    for (size_t k = 0; k < m; k++) {
      const uint32_t i = idx[k];
      const uint32_t digit = scalarDigit(scalars + 4 * (size_t)i, (unsigned)w * c, c);
      if (!digit) continue;
      A p;
      std::memcpy(&p, points + (size_t)i * sizeof(A), sizeof(A));
      if (p.isInfinity()) continue;
      buckets->add(digit, p);
      if (digit > top) top = digit;
    }
    if (top) acc = J::add(acc, buckets->sum(top));
  }
  return acc;
}

// Σ Pᵢ over the points listed in idx (their scalars are 1).
template <class F>
Jacobian<F> sumPoints(const uint8_t* points, const uint32_t* idx, size_t m) {
  typedef Jacobian<F> J;
  typedef Affine<F> A;
  J s = J::infinity();
  for (size_t k = 0; k < m; k++) {
    A p;
    std::memcpy(&p, points + (size_t)idx[k] * sizeof(A), sizeof(A));
    s = J::addMixed(s, p);
  }
  return s;
}

// Scalars are split first (zero: skipped; one: summed; the rest: buckets), then each class is cut
// into equal shares per thread, so a witness whose large values cluster in one range still balances.
template <class F>
Jacobian<F> msm(const uint8_t* points, const uint64_t* scalars, size_t n, unsigned threads) {
  typedef Jacobian<F> J;
  std::vector<uint32_t> ones, rest;
  unsigned maxBits = 0;
  for (size_t i = 0; i < n; i++) {
    const unsigned bits = scalarBits(scalars + 4 * i);
    if (bits == 0) continue;
    if (bits == 1) {
      ones.push_back((uint32_t)i);
      continue;
    }
    rest.push_back((uint32_t)i);
    if (bits > maxBits) maxBits = bits;
  }
  const size_t T = std::max<size_t>(1, std::min<size_t>(threads, (ones.size() + rest.size()) / 512));
  std::vector<J> parts(T, J::infinity());
  auto share = [](size_t total, size_t T, size_t t) { return std::make_pair(total * t / T, total * (t + 1) / T); };
  auto work = [&](size_t t) {
    const auto r = share(rest.size(), T, t);
    const auto o = share(ones.size(), T, t);
    J acc = msmBuckets<F>(points, scalars, rest.data() + r.first, r.second - r.first, maxBits);
    parts[t] = J::add(acc, sumPoints<F>(points, ones.data() + o.first, o.second - o.first));
  };
  if (T == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < T; t++) pool.emplace_back(work, t);
    for (auto& th : pool) th.join();
  }
  J r = J::infinity();
  for (auto& p : parts) r = J::add(r, p);
  return r;
}

}  // namespace modex
