#include "binfile.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace modex {

static std::runtime_error fail(const char* kind, const std::string& msg) { return std::runtime_error(std::string(kind) + ": " + msg); }

BinFile parseBinFile(const uint8_t* data, uint64_t size, const char* magic, const char* kind) {
  if (size < 12) throw fail(kind, "file too short (" + std::to_string(size) + " bytes) for a header");
  if (std::memcmp(data, magic, 4) != 0) throw fail(kind, std::string("not a ") + kind + " file (magic is not \"" + magic + "\")");
  BinFile f;
  f.version = readU32(data + 4);
  const uint32_t count = readU32(data + 8);
  uint64_t pos = 12;
  for (uint32_t i = 0; i < count; i++) {
    if (size - pos < 12) throw fail(kind, "truncated: section header " + std::to_string(i + 1) + " of " + std::to_string(count) + " is past the end of the file");
    const uint32_t type = readU32(data + pos);
    const uint64_t len = readU64(data + pos + 4);
    pos += 12;
    if (len > size - pos) throw fail(kind, "truncated: section " + std::to_string(type) + " claims " + std::to_string(len) + " bytes, " + std::to_string(size - pos) + " remain");
    if (f.sections.count(type)) throw fail(kind, "section " + std::to_string(type) + " appears twice");
    f.sections[type] = Section{data + pos, len};
    pos += len;
  }
  return f;
}

const Section& BinFile::section(uint32_t type, const char* kind, const char* name) const {
  auto it = sections.find(type);
  if (it == sections.end()) throw fail(kind, std::string("missing section ") + std::to_string(type) + " (" + name + ")");
  return it->second;
}

MappedFile::MappedFile(const std::string& path, const char* kind) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail(kind, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw fail(kind, "cannot stat " + path + ": " + std::strerror(e));
  }
  size_ = (uint64_t)st.st_size;
  if (size_ == 0) {
    ::close(fd);
    throw fail(kind, path + " is empty");
  }
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) throw fail(kind, "cannot map " + path + ": " + std::strerror(e));
  data_ = (const uint8_t*)p;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap((void*)data_, size_);
}

}  // namespace modex
