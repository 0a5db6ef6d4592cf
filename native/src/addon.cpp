// The Node addon's entry: each part registers its own functions on `exports`.
#include <node_api.h>

napi_value registerProver(napi_env env, napi_value exports);  // addon_prover.cpp
napi_value registerHashing(napi_env env, napi_value exports);  // addon_hash.cpp

static napi_value init(napi_env env, napi_value exports) {
  registerProver(env, exports);
  registerHashing(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
