// The prover follows snarkjs' groth16 prove step by step, so the same key and witness give a proof of
// the same form (r and s are random, as there):
//   1. A, B at each constraint from the key's coefficient list and the witness; C = A·B pointwise.
//   2. Each of A, B, C: inverse FFT to coefficients, multiply coefficient i by g^i (g a primitive
//      2n-th root, so the next FFT evaluates on the odd coset), FFT. H = A·B − C there; the key's H
//      points already carry the division by the vanishing polynomial.
//   3. Five multi-scalar multiplications (A, B1 and C in G1, B2 in G2 over the witness; H over H) and
//      the blinding terms with random r, s.
// Key material stays in the memory-mapped key: points are read in place (Montgomery form, as stored).
#include "groth16.hpp"

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "binfile.hpp"
#include "curve.hpp"
#include "fft.hpp"
#include "msm.hpp"

namespace modex {

namespace {

std::runtime_error err(const char* kind, const std::string& msg) { return std::runtime_error(std::string(kind) + ": " + msg); }

bool sameModulus(const uint8_t* p, const uint64_t m[4]) {
  for (int i = 0; i < 4; i++) {
    if (readU64(p + 8 * i) != m[i]) return false;
  }
  return true;
}

template <class T>
T readPoint(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct ZkeyHeader {
  uint32_t nVars, nPublic, domainSize, power;
  G1Affine alpha1, beta1, delta1;
  G2Affine beta2, delta2;
};

ZkeyHeader readZkeyHeader(const BinFile& f) {
  const Section& s1 = f.section(1, "zkey", "header");
  if (s1.size < 4) throw err("zkey", "header section too short");
  const uint32_t protocol = readU32(s1.data);
  if (protocol != 1) throw err("zkey", "protocol " + std::to_string(protocol) + " is not groth16 (1)");
  const Section& s2 = f.section(2, "zkey", "groth16 header");
  const uint64_t expected = 4 + 32 + 4 + 32 + 12 + 3 * 64 + 3 * 128;
  if (s2.size < 4 || readU32(s2.data) != 32) throw err("zkey", "base field is not 32 bytes: not a BN254 (bn128) key");
  if (s2.size != expected) throw err("zkey", "groth16 header is " + std::to_string(s2.size) + " bytes, expected " + std::to_string(expected));
  const uint8_t* p = s2.data + 4;
  if (!sameModulus(p, FqParams::mod)) throw err("zkey", "base field modulus is not BN254's: only bn128 keys are supported");
  p += 32;
  if (readU32(p) != 32 || !sameModulus(p + 4, FrParams::mod)) throw err("zkey", "scalar field is not BN254's");
  p += 36;
  ZkeyHeader h;
  h.nVars = readU32(p);
  h.nPublic = readU32(p + 4);
  h.domainSize = readU32(p + 8);
  p += 12;
  if (h.nVars == 0 || (uint64_t)h.nPublic + 1 > h.nVars) throw err("zkey", "inconsistent sizes: " + std::to_string(h.nVars) + " signals, " + std::to_string(h.nPublic) + " public");
  if (h.domainSize == 0 || (h.domainSize & (h.domainSize - 1)) != 0) throw err("zkey", "domain size " + std::to_string(h.domainSize) + " is not a power of two");
  h.power = 0;
  while ((1u << h.power) < h.domainSize) h.power++;
  if (h.power >= 28) throw err("zkey", "domain 2^" + std::to_string(h.power) + " is beyond BN254's 2^28 roots of unity for this prover");
  h.alpha1 = readPoint<G1Affine>(p);
  h.beta1 = readPoint<G1Affine>(p + 64);
  h.beta2 = readPoint<G2Affine>(p + 128);
  // gamma2 (p + 256) is only used by verifiers.
  h.delta1 = readPoint<G1Affine>(p + 384);
  h.delta2 = readPoint<G2Affine>(p + 448);
  return h;
}

const Section& sized(const BinFile& f, uint32_t type, const char* name, uint64_t expected) {
  const Section& s = f.section(type, "zkey", name);
  if (s.size != expected) throw err("zkey", std::string("section ") + std::to_string(type) + " (" + name + ") is " + std::to_string(s.size) + " bytes, expected " + std::to_string(expected));
  return s;
}

void randomScalar(uint64_t out[4]) {
  std::random_device rd;
  for (;;) {
    for (int i = 0; i < 4; i++) out[i] = ((uint64_t)rd() << 32) ^ (uint64_t)rd();
    out[3] &= 0x3fffffffffffffffULL;
    if (!Fr::geqMod(out)) return;
  }
}

std::string g1Json(const G1& p) {
  G1Affine a = p.toAffine();
  if (p.isInfinity()) return "[\"0\",\"1\",\"0\"]";
  return "[\"" + a.x.toDecimal() + "\",\"" + a.y.toDecimal() + "\",\"1\"]";
}

std::string g2Json(const G2& p) {
  if (p.isInfinity()) return "[[\"0\",\"0\"],[\"1\",\"0\"],[\"0\",\"0\"]]";
  G2Affine a = p.toAffine();
  return "[[\"" + a.x.c0.toDecimal() + "\",\"" + a.x.c1.toDecimal() + "\"],[\"" + a.y.c0.toDecimal() + "\",\"" + a.y.c1.toDecimal() + "\"],[\"1\",\"0\"]]";
}

// CPU time of the whole process (all threads), ms: phases measured this way are not inflated by other load.
double cpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double msSince(std::chrono::steady_clock::time_point t) { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count(); }

}  // namespace

unsigned defaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

bool hasAdxMultiplication() {
#ifdef MODEX_MUL_ADX
  return true;
#else
  return false;
#endif
}

ProofText groth16Prove(const uint8_t* zkeyData, uint64_t zkeySize, const uint8_t* wtnsData, uint64_t wtnsSize, unsigned threads, ProveStats* stats) {
  const auto t0 = std::chrono::steady_clock::now();
  if (threads == 0) threads = defaultThreads();
  const bool trace = std::getenv("MODEX_PROVER_TRACE") != nullptr;
  double cpuLap = cpuMs();
  auto lap = [&](const char* what) {
    if (!trace) return;
    const double now = cpuMs();
    std::fprintf(stderr, "%s %.1f ms wall, %.1f ms cpu\n", what, msSince(t0), now - cpuLap);
    cpuLap = now;
  };

  const BinFile zkey = parseBinFile(zkeyData, zkeySize, "zkey", "zkey");
  const ZkeyHeader h = readZkeyHeader(zkey);
  const uint64_t n = h.domainSize;
  const Section& coefs = zkey.section(4, "zkey", "coefficients");
  if (coefs.size < 4) throw err("zkey", "coefficient section too short");
  const uint32_t nCoefs = readU32(coefs.data);
  if (coefs.size != 4 + (uint64_t)nCoefs * 44) throw err("zkey", "coefficient section is " + std::to_string(coefs.size) + " bytes for " + std::to_string(nCoefs) + " coefficients");
  const Section& secA = sized(zkey, 5, "A points", (uint64_t)h.nVars * 64);
  const Section& secB1 = sized(zkey, 6, "B1 points", (uint64_t)h.nVars * 64);
  const Section& secB2 = sized(zkey, 7, "B2 points", (uint64_t)h.nVars * 128);
  const Section& secC = sized(zkey, 8, "C points", (uint64_t)(h.nVars - h.nPublic - 1) * 64);
  const Section& secH = sized(zkey, 9, "H points", n * 64);

  const BinFile wf = parseBinFile(wtnsData, wtnsSize, "wtns", "wtns");
  const Section& w1 = wf.section(1, "wtns", "header");
  if (w1.size != 40 || readU32(w1.data) != 32 || !sameModulus(w1.data + 4, FrParams::mod)) throw err("wtns", "the witness is not over BN254's scalar field");
  const uint32_t nWitness = readU32(w1.data + 36);
  if (nWitness != h.nVars) throw err("wtns", "the witness has " + std::to_string(nWitness) + " values but the proving key's circuit has " + std::to_string(h.nVars) + " signals (a witness for another circuit?)");
  const Section& w2 = wf.section(2, "wtns", "values");
  if (w2.size != (uint64_t)nWitness * 32) throw err("wtns", "values section is " + std::to_string(w2.size) + " bytes, expected " + std::to_string((uint64_t)nWitness * 32));

  std::vector<uint64_t> w((size_t)h.nVars * 4);
  std::memcpy(w.data(), w2.data, w2.size);
  for (uint32_t i = 0; i < h.nVars; i++) {
    if (Fr::geqMod(&w[4 * i])) throw err("wtns", "value " + std::to_string(i) + " is not below the field modulus");
  }
  if (w[0] != 1 || w[1] || w[2] || w[3]) throw err("wtns", "signal 0 must be 1");

  // 1. A, B per constraint; C = A·B. A coefficient is stored as coef·R² (snarkjs), so its Montgomery
  // product with a witness value in standard form is coef·w in Montgomery form.
  auto t = std::chrono::steady_clock::now();
  std::vector<Fr> A(n, Fr::zero()), B(n, Fr::zero()), C(n);
  const uint8_t* cp = coefs.data + 4;
  for (uint32_t i = 0; i < nCoefs; i++, cp += 44) {
    const uint32_t m = readU32(cp), c = readU32(cp + 4), s = readU32(cp + 8);
    if (m > 1 || c >= n || s >= h.nVars) throw err("zkey", "coefficient " + std::to_string(i) + " is out of range (matrix " + std::to_string(m) + ", constraint " + std::to_string(c) + ", signal " + std::to_string(s) + ")");
    Fr coef;
    std::memcpy(coef.v, cp + 12, 32);
    Fr wv{{w[4 * s], w[4 * s + 1], w[4 * s + 2], w[4 * s + 3]}};
    std::vector<Fr>& target = m == 0 ? A : B;
    target[c] = Fr::add(target[c], Fr::mul(coef, wv));
  }
  for (uint64_t i = 0; i < n; i++) C[i] = Fr::mul(A[i], B[i]);
  const double abcMs = msSince(t);
  lap("abc");

  // 2. Evaluations on the odd coset of the 2n-th roots.
  t = std::chrono::steady_clock::now();
  const FftDomain domain(h.power, threads);
  const Fr shift = rootOfUnity(h.power + 1);
  for (std::vector<Fr>* v : {&A, &B, &C}) {
    domain.ifft(v->data());
    domain.scaleByPowers(v->data(), shift);
    domain.fft(v->data());
  }
  std::vector<uint64_t> hs(n * 4);
  for (uint64_t i = 0; i < n; i++) Fr::sub(Fr::mul(A[i], B[i]), C[i]).toStd(&hs[4 * i]);
  std::vector<Fr>().swap(A);
  std::vector<Fr>().swap(B);
  std::vector<Fr>().swap(C);
  const double fftMs = msSince(t);
  lap("fft");

  // 3. Multi-scalar multiplications and blinding.
  t = std::chrono::steady_clock::now();
  const size_t firstPrivate = (size_t)h.nPublic + 1;
  G1 pA = msm<Fq>(secA.data, w.data(), h.nVars, threads);
  lap("msm A");
  G1 pB1 = msm<Fq>(secB1.data, w.data(), h.nVars, threads);
  lap("msm B1");
  G2 pB2 = msm<Fq2>(secB2.data, w.data(), h.nVars, threads);
  lap("msm B2");
  G1 pC = msm<Fq>(secC.data, w.data() + 4 * firstPrivate, h.nVars - firstPrivate, threads);
  lap("msm C");
  G1 pH = msm<Fq>(secH.data, hs.data(), n, threads);
  lap("msm H");
  const double msmMs = msSince(t);

  uint64_t r[4], s[4], rs[4];
  randomScalar(r);
  randomScalar(s);
  Fr::mul(Fr::fromStd(r), Fr::fromStd(s)).toStd(rs);
  const G1 delta1 = G1::fromAffine(h.delta1);
  const G2 delta2 = G2::fromAffine(h.delta2);

  G1 piA = G1::add(G1::addMixed(pA, h.alpha1), G1::mulScalar(delta1, r));
  G2 piB = G2::add(G2::addMixed(pB2, h.beta2), G2::mulScalar(delta2, s));
  G1 piB1 = G1::add(G1::addMixed(pB1, h.beta1), G1::mulScalar(delta1, s));
  G1 piC = G1::add(pC, pH);
  piC = G1::add(piC, G1::mulScalar(piA, s));
  piC = G1::add(piC, G1::mulScalar(piB1, r));
  piC = G1::add(piC, G1::neg(G1::mulScalar(delta1, rs)));

  ProofText out;
  out.proof = "{\"pi_a\":" + g1Json(piA) + ",\"pi_b\":" + g2Json(piB) + ",\"pi_c\":" + g1Json(piC) + ",\"protocol\":\"groth16\",\"curve\":\"bn128\"}";
  out.publicSignals = "[";
  for (uint32_t i = 1; i <= h.nPublic; i++) {
    if (i > 1) out.publicSignals += ",";
    out.publicSignals += "\"" + Fr::limbsToDecimal(&w[4 * i]) + "\"";
  }
  out.publicSignals += "]";
  if (stats) {
    stats->threads = threads;
    stats->nVars = h.nVars;
    stats->nPublic = h.nPublic;
    stats->domainSize = h.domainSize;
    stats->abcMs = abcMs;
    stats->fftMs = fftMs;
    stats->msmMs = msmMs;
    stats->totalMs = msSince(t0);
  }
  return out;
}

}  // namespace modex
