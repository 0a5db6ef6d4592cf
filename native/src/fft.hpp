// Radix-2 number-theoretic transforms over Fr on a domain of n = 2^k points, natural order in and out.
// Twiddles are computed once per domain and shared by every transform on it; each stage's butterflies
// are split over threads (a barrier between stages), so one transform uses every core.
#pragma once
#include <algorithm>
#include <thread>
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

// Runs body(begin, end) over [0, count) split into `threads` contiguous ranges.
template <class Body>
void parallelRanges(size_t count, unsigned threads, Body body, size_t minPerThread = 4096) {
  const size_t T = std::max<size_t>(1, std::min<size_t>(threads, count / minPerThread));
  if (T <= 1) {
    body(size_t(0), count);
    return;
  }
  std::vector<std::thread> pool;
  const size_t chunk = (count + T - 1) / T;
  for (size_t t = 0; t < T; t++) {
    const size_t b = t * chunk, e = std::min(count, b + chunk);
    if (b >= e) break;
    pool.emplace_back([=] { body(b, e); });
  }
  for (auto& th : pool) th.join();
}

class FftDomain {
 public:
  FftDomain(unsigned log2n, unsigned threads) : n_(size_t(1) << log2n), threads_(threads), fwd_(n_ > 1 ? n_ - 1 : 1), inv_(n_ > 1 ? n_ - 1 : 1) {
    const Fr w = rootOfUnity(log2n);
    const Fr wi = Fr::inv(w);
    stageTables(fwd_, w);
    stageTables(inv_, wi);
    nInv_ = Fr::inv(Fr::fromU64(n_));
  }

  size_t size() const { return n_; }

  // a[j] ← Σᵢ a[i]·ω^{ij}.
  void fft(Fr* a) const { transform(a, fwd_); }

  // The inverse, scaled by 1/n (snarkjs' Fr.ifft).
  void ifft(Fr* a) const {
    transform(a, inv_);
    const Fr s = nInv_;
    parallelRanges(n_, threads_, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; i++) a[i] = Fr::mul(a[i], s);
    });
  }

  // a[i] ← a[i]·g^i.
  void scaleByPowers(Fr* a, const Fr& g) const {
    parallelRanges(n_, threads_, [&](size_t b, size_t e) {
      Fr x = powTo(g, b);
      for (size_t i = b; i < e; i++) {
        a[i] = Fr::mul(a[i], x);
        x = Fr::mul(x, g);
      }
    });
  }

 private:
  static constexpr size_t BLOCK = size_t(1) << 13;  // 256 KB of Fr: fits in L2
  size_t n_;
  unsigned threads_;
  std::vector<Fr> fwd_, inv_;
  Fr nInv_;

  // The stage that combines blocks of `len` = 2·half reads t[half − 1 + j] = ω_len^j, j < half: each stage's
  // twiddles are contiguous (read in order, not at a stride through one table), n − 1 in all.
  void stageTables(std::vector<Fr>& t, const Fr& w) const {
    if (n_ <= 1) return;
    const size_t top = n_ / 2;
    parallelRanges(top, threads_, [&](size_t b, size_t e) {
      Fr x = powTo(w, b);
      for (size_t i = b; i < e; i++) {
        t[top - 1 + i] = x;
        x = Fr::mul(x, w);
      }
    });
    // ω_{len/2} = ω_len²: each smaller stage takes every other twiddle of the next.
    for (size_t half = top / 2; half >= 1; half /= 2) {
      for (size_t j = 0; j < half; j++) t[half - 1 + j] = t[2 * half - 1 + 2 * j];
    }
  }

  static Fr powTo(const Fr& g, uint64_t e) {
    uint64_t ex[4] = {e, 0, 0, 0};
    return Fr::pow(g, ex);
  }

  void transform(Fr* a, const std::vector<Fr>& tw) const {
    const size_t n = n_;
    if (n <= 1) return;
    unsigned lg = 0;
    while ((size_t(1) << lg) < n) lg++;
    parallelRanges(n, threads_, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; i++) {
        size_t j = 0;
        for (unsigned k = 0; k < lg; k++) j |= ((i >> k) & 1) << (lg - 1 - k);
        if (i < j) std::swap(a[i], a[j]);
      }
    });
    // Stages up to BLOCK points run block by block while the block sits in cache (one pass over memory
    // instead of one per stage); the remaining stages split each stage's butterflies over threads.
    const size_t block = std::min(n, BLOCK);
    parallelRanges(n / block, threads_, [&](size_t b, size_t e) {
      for (size_t blk = b; blk < e; blk++) {
        Fr* x = a + blk * block;
        for (size_t len = 2; len <= block; len <<= 1) {
          const size_t half = len >> 1;
          const Fr* twh = tw.data() + (half - 1);
          for (size_t i = 0; i < block; i += len) {
            for (size_t j = 0; j < half; j++) {
              const Fr u = x[i + j];
              const Fr v = Fr::mul(x[i + j + half], twh[j]);
              x[i + j] = Fr::add(u, v);
              x[i + j + half] = Fr::sub(u, v);
            }
          }
        }
      }
    }, 1);
    for (size_t len = 2 * block; len <= n; len <<= 1) {
      const size_t half = len >> 1;
      const Fr* twh = tw.data() + (half - 1);
      // Butterfly k of this stage: block k / half, position k % half.
      parallelRanges(n / 2, threads_, [&](size_t b, size_t e) {
        for (size_t k = b; k < e; k++) {
          const size_t j = k & (half - 1);
          const size_t i = (k - j) * 2 + j;
          const Fr u = a[i];
          const Fr v = Fr::mul(a[i + half], twh[j]);
          a[i] = Fr::add(u, v);
          a[i + half] = Fr::sub(u, v);
        }
      });
    }
  }
};

}  // namespace modex
