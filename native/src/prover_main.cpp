// modex-prover: the native Groth16 prover as a command, with rapidsnark's calling convention:
//   modex-prover [--threads N] <circuit.zkey> <witness.wtns> <proof.json> <public.json>
// Exit 0 and both files written, or a one-line error on stderr and exit 1 (2 for usage).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "binfile.hpp"
#include "groth16.hpp"

static int usage() {
  std::fprintf(stderr, "usage: modex-prover [--threads N] <circuit.zkey> <witness.wtns> <proof.json> <public.json>\n");
  return 2;
}

static void writeFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error("output: cannot write " + path);
  f << text;
  f.close();
  if (!f) throw std::runtime_error("output: cannot write " + path);
}

int main(int argc, char** argv) {
  unsigned threads = 0;
  std::vector<std::string> files;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      char* end = nullptr;
      long v = std::strtol(argv[++i], &end, 10);
      if (!end || *end || v < 0 || v > 1024) return usage();
      threads = (unsigned)v;
    } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      usage();
      return 0;
    } else {
      files.push_back(argv[i]);
    }
  }
  if (files.size() != 4) return usage();
  try {
    modex::MappedFile zkey(files[0], "zkey");
    modex::MappedFile wtns(files[1], "wtns");
    modex::ProveStats stats;
    modex::ProofText out = modex::groth16Prove(zkey.data(), zkey.size(), wtns.data(), wtns.size(), threads, &stats);
    writeFile(files[2], out.proof);
    writeFile(files[3], out.publicSignals);
    if (std::getenv("MODEX_PROVER_STATS")) {
      std::fprintf(stderr, "{\"threads\":%u,\"signals\":%u,\"domain\":%u,\"abcMs\":%.1f,\"fftMs\":%.1f,\"msmMs\":%.1f,\"totalMs\":%.1f}\n", stats.threads, stats.nVars, stats.domainSize, stats.abcMs, stats.fftMs, stats.msmMs, stats.totalMs);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modex-prover: %s\n", e.what());
    return 1;
  }
}
