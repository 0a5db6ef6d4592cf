// N-API bindings of the Groth16 prover: groth16Prove(zkeyPath, wtnsBytes, threads) → Promise<{proof, publicSignals}>
// (proving runs on libuv's thread pool, its own threads under it, so the event loop stays free), and
// proverInfo() → {defaultThreads, adx}.
#include <node_api.h>

#include <cstring>
#include <string>
#include <vector>

#include "binfile.hpp"
#include "groth16.hpp"

namespace {

struct ProveWork {
  napi_async_work work = nullptr;
  napi_deferred deferred = nullptr;
  std::string zkeyPath;
  std::vector<uint8_t> wtns;
  unsigned threads = 0;
  modex::ProofText out;
  std::string error;
};

napi_value throwError(napi_env env, const char* msg) {
  napi_throw_type_error(env, nullptr, msg);
  return nullptr;
}

void execute(napi_env, void* data) {
  ProveWork* w = static_cast<ProveWork*>(data);
  try {
    modex::MappedFile zkey(w->zkeyPath, "zkey");
    w->out = modex::groth16Prove(zkey.data(), zkey.size(), w->wtns.data(), w->wtns.size(), w->threads, nullptr);
  } catch (const std::exception& e) {
    w->error = e.what();
  } catch (...) {
    w->error = "prove: unknown failure";
  }
}

void complete(napi_env env, napi_status, void* data) {
  ProveWork* w = static_cast<ProveWork*>(data);
  if (!w->error.empty()) {
    napi_value msg, err;
    napi_create_string_utf8(env, w->error.c_str(), w->error.size(), &msg);
    napi_create_error(env, nullptr, msg, &err);
    napi_reject_deferred(env, w->deferred, err);
  } else {
    napi_value obj, proof, pub;
    napi_create_object(env, &obj);
    napi_create_string_utf8(env, w->out.proof.c_str(), w->out.proof.size(), &proof);
    napi_create_string_utf8(env, w->out.publicSignals.c_str(), w->out.publicSignals.size(), &pub);
    napi_set_named_property(env, obj, "proof", proof);
    napi_set_named_property(env, obj, "publicSignals", pub);
    napi_resolve_deferred(env, w->deferred, obj);
  }
  napi_delete_async_work(env, w->work);
  delete w;
}

napi_value groth16Prove(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 3) return throwError(env, "groth16Prove(zkeyPath, wtns, threads): 3 arguments expected");
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], nullptr, 0, &len) != napi_ok) return throwError(env, "groth16Prove: zkeyPath must be a string");
  std::string path(len, '\0');
  napi_get_value_string_utf8(env, argv[0], &path[0], len + 1, &len);
  bool isTyped = false;
  napi_is_typedarray(env, argv[1], &isTyped);
  if (!isTyped) return throwError(env, "groth16Prove: wtns must be a Uint8Array");
  napi_typedarray_type type;
  size_t count = 0, offset = 0;
  void* bytes = nullptr;
  napi_value ab;
  napi_get_typedarray_info(env, argv[1], &type, &count, &bytes, &ab, &offset);
  if (type != napi_uint8_array) return throwError(env, "groth16Prove: wtns must be a Uint8Array");
  uint32_t threads = 0;
  double threadsValue = -1;
  if (napi_get_value_double(env, argv[2], &threadsValue) != napi_ok || !(threadsValue >= 0 && threadsValue <= 4096) || threadsValue != (double)(uint32_t)threadsValue) {
    return throwError(env, "groth16Prove: threads must be an integer from 0 (every core) to 4096");
  }
  threads = (uint32_t)threadsValue;

  ProveWork* w = new ProveWork();
  w->zkeyPath = path;
  // A copy: the caller's buffer may be collected or reused while the proof runs.
  w->wtns.assign(static_cast<uint8_t*>(bytes), static_cast<uint8_t*>(bytes) + count);
  w->threads = threads;
  napi_value promise, name;
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, "modex.groth16Prove", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, nullptr, name, execute, complete, w, &w->work);
  napi_queue_async_work(env, w->work);
  return promise;
}

napi_value proverInfo(napi_env env, napi_callback_info) {
  napi_value obj, threads, adx;
  napi_create_object(env, &obj);
  napi_create_uint32(env, modex::defaultThreads(), &threads);
  napi_get_boolean(env, modex::hasAdxMultiplication(), &adx);
  napi_set_named_property(env, obj, "defaultThreads", threads);
  napi_set_named_property(env, obj, "adx", adx);
  return obj;
}

}  // namespace

napi_value registerProver(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "groth16Prove", NAPI_AUTO_LENGTH, groth16Prove, nullptr, &fn);
  napi_set_named_property(env, exports, "groth16Prove", fn);
  napi_create_function(env, "proverInfo", NAPI_AUTO_LENGTH, proverInfo, nullptr, &fn);
  napi_set_named_property(env, exports, "proverInfo", fn);
  return exports;
}
