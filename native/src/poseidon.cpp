// Poseidon (see poseidon.hpp): the schedule derivation and the hash.
#include "poseidon.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace modex {

static inline Fr pow5(const Fr& x) {
  Fr x2 = Fr::sqr(x);
  return Fr::mul(Fr::sqr(x2), x);
}

// Solves A·x = y for an n × n matrix (row-major) by Gaussian elimination; false if singular.
static bool solve(std::vector<Fr> a, std::vector<Fr> y, int n, std::vector<Fr>& x) {
  for (int col = 0; col < n; col++) {
    int piv = col;
    while (piv < n && a[piv * n + col].isZero()) piv++;
    if (piv == n) return false;
    if (piv != col) {
      for (int j = 0; j < n; j++) std::swap(a[piv * n + j], a[col * n + j]);
      std::swap(y[piv], y[col]);
    }
    Fr inv = Fr::inv(a[col * n + col]);
    for (int j = col; j < n; j++) a[col * n + j] = Fr::mul(a[col * n + j], inv);
    y[col] = Fr::mul(y[col], inv);
    for (int i = 0; i < n; i++) {
      if (i == col) continue;
      Fr f = a[i * n + col];
      if (f.isZero()) continue;
      for (int j = col; j < n; j++) a[i * n + j] = Fr::sub(a[i * n + j], Fr::mul(f, a[col * n + j]));
      y[i] = Fr::sub(y[i], Fr::mul(f, y[col]));
    }
  }
  x = y;
  return true;
}

bool Poseidon::init(int width, const std::vector<Fr>& c, const std::vector<Fr>& mds) {
  const int T = width;
  if (T < 2 || (int)mds.size() != T * T || c.size() % T != 0 || (int)(c.size() / T) <= 8) return false;
  const int rounds = (int)(c.size() / T);
  t = T;
  rp = rounds - 8;
  m = mds;
  auto M = [&](int i, int j) -> const Fr& { return mds[i * T + j]; };

  // 1. Constants. Rounds 0..3 full, 4..4+rp−1 partial, then 4 full. A partial round's constants for
  //    state[1..] commute with its S-box; push them through M into the next round.
  cFull.assign(8 * T, Fr::zero());
  for (int x = 0; x < 4; x++)
    for (int j = 0; j < T; j++) cFull[x * T + j] = c[x * T + j];
  kPartial.assign(rp, Fr::zero());
  std::vector<Fr> carry(T, Fr::zero());
  for (int r = 0; r < rp; r++) {
    std::vector<Fr> eff(T);
    for (int j = 0; j < T; j++) eff[j] = Fr::add(c[(4 + r) * T + j], carry[j]);
    kPartial[r] = eff[0];
    for (int i = 0; i < T; i++) {
      Fr s = Fr::zero();
      for (int j = 1; j < T; j++) s = Fr::add(s, Fr::mul(M(i, j), eff[j]));
      carry[i] = s;
    }
  }
  for (int x = 4; x < 8; x++)
    for (int j = 0; j < T; j++) cFull[x * T + j] = c[(rp + x) * T + j];
  for (int j = 0; j < T; j++) cFull[4 * T + j] = Fr::add(cFull[4 * T + j], carry[j]);

  // 2. Sparse partial rounds, last to first: N = S·D with D = diag(1, N'), S = [[a, bᵀ], [c, I]],
  //    b = N'^{-T}·n0; the next (earlier) round's matrix is D·M.
  const int n = T - 1;
  const int w = 2 * T - 1;
  sparse.assign((size_t)rp * w, Fr::zero());
  std::vector<Fr> N = mds;
  for (int r = rp - 1; r >= 0; r--) {
    Fr* s = &sparse[(size_t)r * w];
    s[0] = N[0];
    std::vector<Fr> dT(n * n), n0(n), b;
    for (int i = 0; i < n; i++) {
      n0[i] = N[i + 1];
      s[T + i] = N[(i + 1) * T];
      for (int j = 0; j < n; j++) dT[j * n + i] = N[(i + 1) * T + (j + 1)];  // transpose of N'
    }
    if (!solve(dT, n0, n, b)) return false;
    for (int i = 0; i < n; i++) s[1 + i] = b[i];
    // next N = D·M: row 0 is M's, rows 1.. are N'·M[1..][*]
    std::vector<Fr> next(T * T);
    for (int j = 0; j < T; j++) next[j] = M(0, j);
    for (int i = 1; i < T; i++)
      for (int j = 0; j < T; j++) {
        Fr acc = Fr::zero();
        for (int k = 1; k < T; k++) acc = Fr::add(acc, Fr::mul(N[i * T + k], M(k, j)));
        next[i * T + j] = acc;
      }
    N.swap(next);
  }
  mLast = N;
  return true;
}

static inline void mix(const Fr* mat, int t, const Fr* in, Fr* out) {
  for (int i = 0; i < t; i++) {
    const Fr* row = mat + i * t;
    Fr acc = Fr::mul(row[0], in[0]);
    for (int j = 1; j < t; j++) acc = Fr::add(acc, Fr::mul(row[j], in[j]));
    out[i] = acc;
  }
}

Fr Poseidon::hash(const Fr* in) const {
  Fr s[17], u[17];
  const int T = t;
  s[0] = Fr::zero();
  for (int j = 1; j < T; j++) s[j] = in[j - 1];
  for (int x = 0; x < 4; x++) {
    for (int j = 0; j < T; j++) s[j] = pow5(Fr::add(s[j], cFull[x * T + j]));
    mix(x == 3 ? mLast.data() : m.data(), T, s, u);
    for (int j = 0; j < T; j++) s[j] = u[j];
  }
  const int w = 2 * T - 1;
  for (int r = 0; r < rp; r++) {
    const Fr* sp = &sparse[(size_t)r * w];
    Fr s0 = pow5(Fr::add(s[0], kPartial[r]));
    Fr acc = Fr::mul(sp[0], s0);
    for (int j = 1; j < T; j++) acc = Fr::add(acc, Fr::mul(sp[j], s[j]));
    for (int j = 1; j < T; j++) s[j] = Fr::add(s[j], Fr::mul(sp[T + j - 1], s0));
    s[0] = acc;
  }
  for (int x = 4; x < 8; x++) {
    for (int j = 0; j < T; j++) s[j] = pow5(Fr::add(s[j], cFull[x * T + j]));
    if (x < 7) {
      mix(m.data(), T, s, u);
      for (int j = 0; j < T; j++) s[j] = u[j];
    }
  }
  // The last mix: only row 0 is needed.
  Fr out = Fr::mul(m[0], s[0]);
  for (int j = 1; j < T; j++) out = Fr::add(out, Fr::mul(m[j], s[j]));
  return out;
}

// Shared by every thread of the process (worker threads load the addon too): set once, never freed.
static std::atomic<const Poseidon*> tables[17];
static std::mutex tablesMutex;

const Poseidon* poseidonFor(int inputs) {
  if (inputs < 1 || inputs > 16) return nullptr;
  return tables[inputs].load(std::memory_order_acquire);
}

bool poseidonInit(int inputs, const std::vector<Fr>& c, const std::vector<Fr>& mds) {
  if (inputs < 1 || inputs > 16) return false;
  std::lock_guard<std::mutex> lock(tablesMutex);
  // The constants are poseidon-lite's, fixed: a second init (another thread) is a no-op.
  if (tables[inputs].load(std::memory_order_acquire)) return true;
  auto p = std::make_unique<Poseidon>();
  if (!p->init(inputs + 1, c, mds)) return false;
  tables[inputs].store(p.release(), std::memory_order_release);
  return true;
}

}  // namespace modex
