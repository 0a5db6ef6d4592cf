#include <node_api.h>
// Native hashing registers here (Poseidon, EdDSA-Poseidon verification).
napi_value registerHashing(napi_env env, napi_value exports) { (void)env; return exports; }
