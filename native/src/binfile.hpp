// The iden3 binary container used by .zkey and .wtns files: magic (4 bytes), version (u32),
// section count (u32), then sections of (type u32, size u64, bytes). Every read is bounds-checked:
// a truncated or malformed file is an error naming the file kind, never a crash.
#pragma once
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace modex {

struct Section {
  const uint8_t* data;
  uint64_t size;
};

struct BinFile {
  uint32_t version = 0;
  std::map<uint32_t, Section> sections;
  // The one section of a type, with its size checked against `expected` (when non-zero).
  const Section& section(uint32_t type, const char* kind, const char* name) const;
};

// Throws std::runtime_error("<kind>: ...") on a bad magic, a truncated section or a repeated section type.
BinFile parseBinFile(const uint8_t* data, uint64_t size, const char* magic, const char* kind);

// A read-only memory map of a whole file (or an owned copy of in-memory bytes).
class MappedFile {
 public:
  explicit MappedFile(const std::string& path, const char* kind);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

inline uint32_t readU32(const uint8_t* p) {
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
inline uint64_t readU64(const uint8_t* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

}  // namespace modex
