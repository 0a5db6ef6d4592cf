// Baby Jubjub arithmetic and EdDSA-Poseidon verification (see babyjub.hpp).
#include "babyjub.hpp"

#include <mutex>

#include "poseidon.hpp"

namespace modex {
namespace babyjub {

const U256 SUBGROUP_ORDER = {0x677297dc392126f1ULL, 0xab3eedb83920ee0aULL, 0x370a08b6d0302b0bULL, 0x060c89ce5c263405ULL};
static const U256 BASE8_X = {0x2893f3f6bb957051ULL, 0x2ab8d8010534e0b6ULL, 0x4eacb2e09d6277c1ULL, 0x0bb77a6ad63e739bULL};
static const U256 BASE8_Y = {0x4b3c257a872d7d8bULL, 0xfce0051fb9e13377ULL, 0x25572e1cd16bf9edULL, 0x25797203f7a0b249ULL};

static const Fr& curveA() {
  static const Fr a = Fr::fromU64(168700);
  return a;
}
static const Fr& curveD() {
  static const Fr d = Fr::fromU64(168696);
  return d;
}

static inline Ext identity() { return Ext{Fr::zero(), Fr::one(), Fr::one(), Fr::zero()}; }

// add-2008-hwcd
static inline Ext add(const Ext& p, const Ext& q) {
  Fr A = Fr::mul(p.x, q.x);
  Fr B = Fr::mul(p.y, q.y);
  Fr C = Fr::mul(curveD(), Fr::mul(p.t, q.t));
  Fr D = Fr::mul(p.z, q.z);
  Fr E = Fr::sub(Fr::sub(Fr::mul(Fr::add(p.x, p.y), Fr::add(q.x, q.y)), A), B);
  Fr F = Fr::sub(D, C);
  Fr G = Fr::add(D, C);
  Fr H = Fr::sub(B, Fr::mul(curveA(), A));
  return Ext{Fr::mul(E, F), Fr::mul(G, H), Fr::mul(F, G), Fr::mul(E, H)};
}

// The same with q affine (Z = 1) and d·T precomputed.
static inline Ext addPre(const Ext& p, const Pre& q) {
  Fr A = Fr::mul(p.x, q.x);
  Fr B = Fr::mul(p.y, q.y);
  Fr C = Fr::mul(p.t, q.dt);
  Fr E = Fr::sub(Fr::sub(Fr::mul(Fr::add(p.x, p.y), q.sum), A), B);
  Fr F = Fr::sub(p.z, C);
  Fr G = Fr::add(p.z, C);
  Fr H = Fr::sub(B, Fr::mul(curveA(), A));
  return Ext{Fr::mul(E, F), Fr::mul(G, H), Fr::mul(F, G), Fr::mul(E, H)};
}

// dbl-2008-hwcd
static inline Ext dbl(const Ext& p) {
  Fr A = Fr::sqr(p.x);
  Fr B = Fr::sqr(p.y);
  Fr C = Fr::dbl(Fr::sqr(p.z));
  Fr D = Fr::mul(curveA(), A);
  Fr E = Fr::sub(Fr::sub(Fr::sqr(Fr::add(p.x, p.y)), A), B);
  Fr G = Fr::add(D, B);
  Fr F = Fr::sub(G, C);
  Fr H = Fr::sub(D, B);
  return Ext{Fr::mul(E, F), Fr::mul(G, H), Fr::mul(F, G), Fr::mul(E, H)};
}

static inline Ext neg(const Ext& p) { return Ext{Fr::neg(p.x), p.y, p.z, Fr::neg(p.t)}; }

static inline Ext fromAffine(const Fr& x, const Fr& y) { return Ext{x, y, Fr::one(), Fr::mul(x, y)}; }

// a·x² + y² == 1 + d·x²·y²
static bool onCurve(const Fr& x, const Fr& y) {
  Fr x2 = Fr::sqr(x), y2 = Fr::sqr(y);
  Fr lhs = Fr::add(Fr::mul(curveA(), x2), y2);
  Fr rhs = Fr::add(Fr::one(), Fr::mul(Fr::mul(curveD(), x2), y2));
  return lhs == rhs;
}

// Affine, prepared forms of many points with one inversion (Montgomery's trick).
static std::vector<Pre> prepare(const std::vector<Ext>& pts) {
  const size_t n = pts.size();
  std::vector<Fr> prefix(n);
  Fr acc = Fr::one();
  for (size_t i = 0; i < n; i++) {
    prefix[i] = acc;
    acc = Fr::mul(acc, pts[i].z);
  }
  Fr inv = Fr::inv(acc);
  std::vector<Pre> out(n);
  for (size_t i = n; i-- > 0;) {
    Fr zi = Fr::mul(inv, prefix[i]);
    inv = Fr::mul(inv, pts[i].z);
    Fr x = Fr::mul(pts[i].x, zi), y = Fr::mul(pts[i].y, zi);
    out[i] = Pre{x, y, Fr::add(x, y), Fr::mul(curveD(), Fr::mul(x, y))};
  }
  return out;
}

// windows × (2^bits − 1) points: entry [w][j − 1] = j·2^(bits·w)·P.
static std::vector<Pre> windowTable(const Ext& p, int bits, int windows) {
  const int per = (1 << bits) - 1;
  std::vector<Ext> pts((size_t)windows * per);
  Ext base = p;
  for (int w = 0; w < windows; w++) {
    Ext* row = &pts[(size_t)w * per];
    row[0] = base;
    for (int j = 1; j < per; j++) row[j] = add(row[j - 1], base);
    base = add(row[per - 1], base);
  }
  return prepare(pts);
}

static inline unsigned digit(const U256 k, int bits, int w) {
  const int bit = w * bits;  // bits divides 64, so a digit never straddles limbs
  return (unsigned)((k[bit / 64] >> (bit % 64)) & ((1u << bits) - 1));
}

static Ext tableMul(const std::vector<Pre>& table, int bits, const U256 k) {
  const int per = (1 << bits) - 1;
  const int windows = (int)(table.size() / per);
  Ext acc = identity();
  for (int w = 0; w < windows; w++) {
    unsigned d = digit(k, bits, w);
    if (d) acc = addPre(acc, table[(size_t)w * per + d - 1]);
  }
  return acc;
}

// k·P with 4-bit windows, left to right (k < 2^256).
static Ext windowMul(const Ext& p, const U256 k) {
  Ext mult[16];
  mult[1] = p;
  for (int j = 2; j < 16; j++) mult[j] = (j % 2 == 0) ? dbl(mult[j / 2]) : add(mult[j - 1], p);
  Ext acc = identity();
  bool started = false;
  for (int w = 63; w >= 0; w--) {
    if (started) acc = dbl(dbl(dbl(dbl(acc))));
    unsigned d = digit(k, 4, w);
    if (d) {
      acc = started ? add(acc, mult[d]) : mult[d];
      started = true;
    }
  }
  return acc;
}

static const int BASE_BITS = 8, BASE_WINDOWS = 32;  // scalars < l < 2^251
static const int KEY_BITS = 4, KEY_WINDOWS = 64;

static std::once_flag baseOnce;
static std::vector<Pre>* baseTable = nullptr;

static const std::vector<Pre>& base8Table() {
  std::call_once(baseOnce, [] {
    Ext b = fromAffine(Fr::fromStd(BASE8_X), Fr::fromStd(BASE8_Y));
    baseTable = new std::vector<Pre>(windowTable(b, BASE_BITS, BASE_WINDOWS));
  });
  return *baseTable;
}

void warmUp() { (void)base8Table(); }

// ---------------------------------------------------------------- key cache

void KeyCache::configure(int64_t size, int64_t promoteAfter) {
  config.keyCacheSize = size;
  config.promoteAfter = promoteAfter;
  evictTo((size_t)size);
}

void KeyCache::clear() {
  map_.clear();
  lru_.clear();
}

size_t KeyCache::tables() const {
  size_t n = 0;
  for (const auto& kv : lru_)
    if (!kv.second.table.empty()) n++;
  return n;
}

void KeyCache::evictTo(size_t n) {
  while (map_.size() > n) {
    map_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

KeyEntry* KeyCache::lookup(const U256 ax, const U256 ay, KeyEntry& scratch) {
  const bool caching = config.keyCacheSize > 0;
  std::string id;
  if (caching) {
    id.assign(reinterpret_cast<const char*>(ax), 32);
    id.append(reinterpret_cast<const char*>(ay), 32);
    auto hit = map_.find(id);
    if (hit != map_.end()) {
      lru_.splice(lru_.begin(), lru_, hit->second);  // most recently used
      return &hit->second->second;
    }
  }
  Fr x = Fr::fromStd(ax), y = Fr::fromStd(ay);
  if (!onCurve(x, y)) return nullptr;
  Ext a8 = dbl(dbl(dbl(fromAffine(x, y))));
  // On the curve, 8·A has order 1 or l; x(8·A) = 0 only for the identity. The circuit requires x ≠ 0.
  if (a8.x.isZero()) return nullptr;
  KeyEntry entry;
  entry.a8neg = neg(a8);
  if (!caching) {
    scratch = std::move(entry);
    return &scratch;
  }
  lru_.emplace_front(id, std::move(entry));
  map_[id] = lru_.begin();
  KeyEntry* e = &lru_.front().second;
  evictTo((size_t)config.keyCacheSize);
  return e;  // just inserted at the front: never the one evicted (size ≥ 1)
}

void KeyCache::noteGood(KeyEntry* e) {
  if (!e->table.empty() || config.keyCacheSize == 0) return;
  if (++e->good >= config.promoteAfter) e->table = windowTable(e->a8neg, KEY_BITS, KEY_WINDOWS);
}

// ---------------------------------------------------------------- verification

static void subInPlace(U256 a, const U256 b) {
  u128 borrow = 0;
  for (int i = 0; i < 4; i++) {
    u128 d = (u128)a[i] - b[i] - borrow;
    a[i] = (uint64_t)d;
    borrow = (d >> 64) & 1;
  }
}

bool verify(const U256 m, const U256 r8x, const U256 r8y, const U256 s, const U256 ax, const U256 ay, KeyCache& keys) {
  const Poseidon* h5 = poseidonFor(5);
  if (!h5) return false;  // the addon refuses to call before poseidonInit(5)
  Fr rx = Fr::fromStd(r8x), ry = Fr::fromStd(r8y);
  if (!onCurve(rx, ry)) return false;
  KeyEntry scratch;
  KeyEntry* key = keys.lookup(ax, ay, scratch);
  if (!key) return false;

  Fr in[5] = {rx, ry, Fr::fromStd(ax), Fr::fromStd(ay), Fr::fromStd(m)};
  U256 h;
  h5->hash(in).toStd(h);
  while (!limbsLess(h, SUBGROUP_ORDER)) subInPlace(h, SUBGROUP_ORDER);  // hm < r < 8·l

  // S·Base8 − h·(8·A) == R8
  Ext left = tableMul(base8Table(), BASE_BITS, s);
  Ext right = key->table.empty() ? windowMul(key->a8neg, h) : tableMul(key->table, KEY_BITS, h);
  Ext p = add(left, right);
  bool ok = Fr::mul(rx, p.z) == p.x && Fr::mul(ry, p.z) == p.y;
  if (ok && key != &scratch) keys.noteGood(key);
  return ok;
}

}  // namespace babyjub
}  // namespace modex
