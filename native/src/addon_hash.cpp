// Native hashing for core/: Poseidon (circomlib's, 1..16 inputs) and EdDSA-Poseidon verification on
// Baby Jubjub. JavaScript API (see core/native.ts' NativeAddon for the types):
//
//   poseidonInit(inputs, C, M)   poseidon-lite's constants for `inputs` inputs (C: (8 + RP)·t bigints,
//                                M: t·t bigints row-major, t = inputs + 1); true when ready. Once per
//                                arity per process (later calls are no-ops).
//   poseidon(inputs)             Poseidon of a bigint[] (null if not an array) (1..16, initialized arity); inputs in [0, 2^256)
//                                are taken mod r (as poseidon-lite does); null if an input is not such a
//                                bigint (negative, ≥ 2^256 or not a bigint): the caller falls back to
//                                poseidon-lite, which defines those cases.
//   eddsaVerify(m, r8x, r8y, s, ax, ay)  core/eddsa-fast.ts' check; false for anything not accepted,
//                                including non-bigints (needs poseidonInit(5)).
//   eddsaConfigure(keyCacheSize, promoteAfter), eddsaClearKeys(), eddsaKeyStats() → {entries, tables},
//   eddsaWarmUp()                the key cache (one per JS thread) and the Base8 table.
#include <node_api.h>

#include <vector>

#include "babyjub.hpp"
#include "field.hpp"
#include "poseidon.hpp"

using modex::Fr;
namespace bj = modex::babyjub;

namespace {


enum class Big { Ok, NotBigint, Negative, TooLarge };

// A bigint in [0, 2^256) as 4 limbs.
Big readU256(napi_env env, napi_value v, uint64_t out[4]) {
  out[0] = out[1] = out[2] = out[3] = 0;
  int sign = 0;
  size_t count = 4;
  if (napi_get_value_bigint_words(env, v, &sign, &count, out) != napi_ok) return Big::NotBigint;
  if (count > 4) return Big::TooLarge;
  if (sign && (out[0] | out[1] | out[2] | out[3])) return Big::Negative;
  return Big::Ok;
}

using modex::limbsLess;

// 256-bit value → [0, r) (value < 2^256 < 6r).
void reduceR(uint64_t a[4]) {
  while (Fr::geqMod(a)) Fr::subMod(a);
}

// Any bigint mod r, in [0, r).
bool readModR(napi_env env, napi_value v, uint64_t out[4]) {
  int sign = 0;
  size_t count = 0;
  if (napi_get_value_bigint_words(env, v, nullptr, &count, nullptr) != napi_ok) return false;
  std::vector<uint64_t> words(count + 1, 0);
  size_t n = count;
  if (napi_get_value_bigint_words(env, v, &sign, &n, words.data()) != napi_ok) return false;
  // Horner over 64-bit words, in Montgomery form: acc = acc·2^64 + w.
  static const Fr two64 = [] {
    uint64_t s[4] = {0, 1, 0, 0};
    return Fr::fromStd(s);
  }();
  Fr acc = Fr::zero();
  for (size_t i = count; i-- > 0;) acc = Fr::add(Fr::mul(acc, two64), Fr::fromU64(words[i]));
  if (sign) acc = Fr::neg(acc);
  acc.toStd(out);
  return true;
}

napi_value throwError(napi_env env, const char* msg) {
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}

napi_value boolean(napi_env env, bool b) {
  napi_value out;
  napi_get_boolean(env, b, &out);
  return out;
}

// bigint[] (each < r after reduction) → standard limbs turned into Montgomery elements.
bool readFieldArray(napi_env env, napi_value arr, std::vector<Fr>& out) {
  bool isArray = false;
  if (napi_is_array(env, arr, &isArray) != napi_ok || !isArray) return false;
  uint32_t n = 0;
  napi_get_array_length(env, arr, &n);
  out.resize(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, arr, i, &e) != napi_ok) return false;
    uint64_t w[4];
    if (readU256(env, e, w) != Big::Ok || Fr::geqMod(w)) return false;
    out[i] = Fr::fromStd(w);
  }
  return true;
}

napi_value PoseidonInit(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t inputs = 0;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &inputs) != napi_ok || inputs < 1 || inputs > 16)
    return throwError(env, "poseidonInit: expected (inputs 1..16, C: bigint[], M: bigint[])");
  std::vector<Fr> c, m;
  if (!readFieldArray(env, argv[1], c) || !readFieldArray(env, argv[2], m))
    return throwError(env, "poseidonInit: C and M must be arrays of bigints in [0, r)");
  if (!modex::poseidonInit(inputs, c, m)) return throwError(env, "poseidonInit: C or M has the wrong size or a singular submatrix");
  return boolean(env, true);
}

napi_value PoseidonHash(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arr;
  napi_get_cb_info(env, info, &argc, &arr, nullptr, nullptr);
  uint32_t n = 0;
  bool isArray = false;
  if (argc < 1 || napi_is_array(env, arr, &isArray) != napi_ok || !isArray) {
    napi_value nul;
    napi_get_null(env, &nul);
    return nul;  // not an array: poseidon-lite decides
  }
  napi_get_array_length(env, arr, &n);
  const modex::Poseidon* p = modex::poseidonFor((int)n);
  if (!p) return throwError(env, "poseidon: unsupported input count, or poseidonInit not called for it");
  Fr in[16];
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    uint64_t w[4];
    if (napi_get_element(env, arr, i, &e) != napi_ok || readU256(env, e, w) != Big::Ok) {
      napi_value nul;
      napi_get_null(env, &nul);
      return nul;  // poseidon-lite decides (see the header)
    }
    reduceR(w);
    in[i] = Fr::fromStd(w);
  }
  uint64_t out[4];
  p->hash(in).toStd(out);
  napi_value result;
  napi_create_bigint_words(env, 0, 4, out, &result);
  return result;
}

napi_value EddsaVerify(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  bj::KeyCache* keys = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, reinterpret_cast<void**>(&keys));
  if (argc < 6) return boolean(env, false);
  if (!modex::poseidonFor(5)) return throwError(env, "eddsaVerify: poseidonInit(5, ...) first");
  uint64_t m[4], r8x[4], r8y[4], s[4], ax[4], ay[4];
  if (!readModR(env, argv[0], m)) return boolean(env, false);
  uint64_t* coords[4] = {r8x, r8y, ax, ay};
  napi_value coordArgs[4] = {argv[1], argv[2], argv[4], argv[5]};
  for (int i = 0; i < 4; i++)
    if (readU256(env, coordArgs[i], coords[i]) != Big::Ok || Fr::geqMod(coords[i])) return boolean(env, false);
  if (readU256(env, argv[3], s) != Big::Ok || !limbsLess(s, bj::SUBGROUP_ORDER)) return boolean(env, false);
  return boolean(env, bj::verify(m, r8x, r8y, s, ax, ay, *keys));
}

napi_value EddsaConfigure(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  bj::KeyCache* keys = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, reinterpret_cast<void**>(&keys));
  int64_t size = 0, promote = 0;
  if (argc < 2 || napi_get_value_int64(env, argv[0], &size) != napi_ok || napi_get_value_int64(env, argv[1], &promote) != napi_ok ||
      size < 0 || promote < 1)
    return throwError(env, "eddsaConfigure: expected (keyCacheSize ≥ 0, promoteAfter ≥ 1)");
  keys->configure(size, promote);
  return nullptr;
}

napi_value EddsaClearKeys(napi_env env, napi_callback_info info) {
  bj::KeyCache* keys = nullptr;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, nullptr, nullptr, reinterpret_cast<void**>(&keys));
  keys->clear();
  return nullptr;
}

napi_value EddsaKeyStats(napi_env env, napi_callback_info info) {
  bj::KeyCache* keys = nullptr;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, nullptr, nullptr, reinterpret_cast<void**>(&keys));
  napi_value obj, entries, tables;
  napi_create_object(env, &obj);
  napi_create_uint32(env, (uint32_t)keys->entries(), &entries);
  napi_create_uint32(env, (uint32_t)keys->tables(), &tables);
  napi_set_named_property(env, obj, "entries", entries);
  napi_set_named_property(env, obj, "tables", tables);
  return obj;
}

napi_value EddsaWarmUp(napi_env env, napi_callback_info info) {
  (void)info;
  (void)env;
  bj::warmUp();
  return nullptr;
}

void define(napi_env env, napi_value exports, const char* name, napi_callback cb, void* data) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, data, &fn);
  napi_set_named_property(env, exports, name, fn);
}

}  // namespace

napi_value registerHashing(napi_env env, napi_value exports) {
  // One key cache per JS thread (each worker thread gets its own env), freed with it.
  auto* keys = new bj::KeyCache();
  napi_add_env_cleanup_hook(env, [](void* p) { delete static_cast<bj::KeyCache*>(p); }, keys);
  define(env, exports, "poseidonInit", PoseidonInit, nullptr);
  define(env, exports, "poseidon", PoseidonHash, nullptr);
  define(env, exports, "eddsaVerify", EddsaVerify, keys);
  define(env, exports, "eddsaConfigure", EddsaConfigure, keys);
  define(env, exports, "eddsaClearKeys", EddsaClearKeys, keys);
  define(env, exports, "eddsaKeyStats", EddsaKeyStats, keys);
  define(env, exports, "eddsaWarmUp", EddsaWarmUp, nullptr);
  return exports;
}
