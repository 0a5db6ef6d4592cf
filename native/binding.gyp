{
  "target_defaults": {
    "cflags_cc": ["-march=native", "-std=c++17", "-pthread", "-fexceptions", "-Wall", "-Wno-unused-function"],
    "cflags_cc!": ["-fno-exceptions"],
    "ldflags": ["-pthread"]
  },
  "targets": [
    {
      "target_name": "modex_native",
      "sources": ["src/addon.cpp", "src/addon_prover.cpp", "src/addon_hash.cpp", "src/groth16.cpp", "src/binfile.cpp", "src/poseidon.cpp", "src/babyjub.cpp"],
      "defines": ["NAPI_VERSION=8"]
    },
    {
      "target_name": "modex-prover",
      "type": "executable",
      "sources": ["src/prover_main.cpp", "src/groth16.cpp", "src/binfile.cpp"]
    }
  ]
}
