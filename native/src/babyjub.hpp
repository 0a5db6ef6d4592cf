// Baby Jubjub (twisted Edwards a·x² + y² = 1 + d·x²·y², a = 168700, d = 168696, over BN254's Fr) and
// EdDSA-Poseidon verification with exactly core/eddsa-fast.ts' accepted set (see that module's comment).
//
// Points are in extended coordinates (X : Y : Z : T), x = X/Z, y = Y/Z, x·y = T/Z, with the
// add-2008-hwcd / dbl-2008-hwcd formulas (complete on this curve: a is a square, d is not).
// S·Base8 uses a fixed-base table (32 windows of 8 bits, affine, built once per process, ~0.8 MB);
// h·(8·A) uses 4-bit windows, or for a hot key (see KeyCache) a per-key table of 64 windows × 15 points.
#pragma once
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include "field.hpp"

namespace modex {
namespace babyjub {

struct Ext {
  Fr x, y, z, t;
};

// An affine point prepared for mixed addition: x, y, x + y, d·x·y.
struct Pre {
  Fr x, y, sum, dt;
};

// Standard (non-Montgomery) 256-bit integers, little-endian limbs.
typedef uint64_t U256[4];

struct KeyEntry {
  Ext a8neg;           // −8·A (order l, not the identity)
  int good = 0;        // successful verifications (only these promote a key)
  std::vector<Pre> table;  // empty until promoted
};

struct KeyCacheConfig {
  int64_t keyCacheSize = 256;
  int64_t promoteAfter = 4;
};

// core/eddsa-fast.ts' key cache, per JS thread (N-API instance data): LRU of keys' 8·A, hot ones tabled.
class KeyCache {
 public:
  KeyCacheConfig config;
  void configure(int64_t size, int64_t promoteAfter);
  void clear();
  size_t entries() const { return map_.size(); }
  size_t tables() const;
  // The key's entry (cached or `scratch`), or null if A is off the curve or of small order.
  KeyEntry* lookup(const U256 ax, const U256 ay, KeyEntry& scratch);
  void noteGood(KeyEntry* e);

 private:
  void evictTo(size_t n);
  std::list<std::pair<std::string, KeyEntry>> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<std::pair<std::string, KeyEntry>>::iterator> map_;
};

// Builds the Base8 table now (otherwise the first verification does).
void warmUp();

// The whole check. Coordinates and S as standard integers; their ranges ([0, r), S < l) are the caller's
// to check (the addon does, before calling). m: the message already reduced mod r.
bool verify(const U256 m, const U256 r8x, const U256 r8y, const U256 s, const U256 ax, const U256 ay, KeyCache& keys);

extern const U256 SUBGROUP_ORDER;

}  // namespace babyjub
}  // namespace modex
