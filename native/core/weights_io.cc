// Implements weights_io.h with POSIX file I/O (pread / write / fsync / rename).
#include "core/weights_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "core/errors.h"

namespace rexrag {
namespace {

struct FileCloser {
  int fd;
  ~FileCloser() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text() { return std::strerror(errno); }

int64_t element_size(at::ScalarType type) { return static_cast<int64_t>(c10::elementSize(type)); }

const char* safetensors_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "F32";
    case at::kBFloat16: return "BF16";
    case at::kHalf: return "F16";
    case at::kDouble: return "F64";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kShort: return "I16";
    case at::kChar: return "I8";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
    default: throw InvalidArgument(std::string("cannot write dtype ") + c10::toString(type) + " to safetensors");
  }
}

void read_exact(int fd, char* out, uint64_t size, uint64_t offset, const std::string& path) {
  uint64_t done = 0;
  while (done < size) {
    ssize_t got = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw InvalidArgument(path + ": read failed at byte " + std::to_string(offset + done) + ": " +
                                        (got == 0 ? "unexpected end of file" : errno_text()));
    done += static_cast<uint64_t>(got);
  }
}

void write_all(int fd, const char* data, size_t size, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t put = ::write(fd, data + done, size - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw std::runtime_error(path + ": write failed: " + errno_text());
    done += static_cast<size_t>(put);
  }
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out;
}

const char* file_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

/// Refuses NaN or infinite values in a floating-point tensor: they would only show up later as garbage
/// generations and null log-probs. One reduction per tensor, cheap next to reading it.
void require_finite(const at::Tensor& tensor, const std::string& where) {
  if (!at::isFloatingType(tensor.scalar_type())) return;
  const int64_t bad = tensor.numel() - at::isfinite(tensor).sum().item<int64_t>();
  require(bad == 0, where + " holds " + std::to_string(bad) + " non-finite value" + (bad == 1 ? "" : "s") +
                        " (NaN or infinity) out of " + std::to_string(tensor.numel()) +
                        "; the checkpoint is corrupt or diverged");
}

}  // namespace

void match_tensors(const std::map<std::string, at::Tensor>& loaded,
                   const std::vector<std::pair<std::string, at::Tensor>>& expected, const std::string& what,
                   const std::vector<std::string>& problems) {
  std::vector<std::string> missing, unexpected, misshaped;
  std::map<std::string, const at::Tensor*> wanted;
  for (const auto& [name, tensor] : expected) {
    wanted[name] = &tensor;
    auto found = loaded.find(name);
    if (found == loaded.end()) {
      missing.push_back(name);
    } else if (found->second.sizes() != tensor.sizes()) {
      misshaped.push_back(name + " (expected " + c10::str(tensor.sizes()) + ", got " + c10::str(found->second.sizes()) +
                          ")");
    }
  }
  for (const auto& [name, tensor] : loaded) {
    if (wanted.count(name) == 0) unexpected.push_back(name);
  }
  if (missing.empty() && unexpected.empty() && misshaped.empty() && problems.empty()) return;
  auto list = [](const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
    return out;
  };
  std::string message = what + ":";
  if (!missing.empty()) message += "\n  missing: " + list(missing);
  if (!unexpected.empty()) message += "\n  unexpected: " + list(unexpected);
  if (!misshaped.empty()) message += "\n  wrong shape: " + list(misshaped);
  for (const std::string& problem : problems) message += "\n  " + problem;
  throw InvalidArgument(message);
}

at::ScalarType safetensors_dtype(const std::string& name) {
  if (name == "F32") return at::kFloat;
  if (name == "BF16") return at::kBFloat16;
  if (name == "F16") return at::kHalf;
  if (name == "F64") return at::kDouble;
  if (name == "I64") return at::kLong;
  if (name == "I32") return at::kInt;
  if (name == "I16") return at::kShort;
  if (name == "I8") return at::kChar;
  if (name == "U8") return at::kByte;
  if (name == "BOOL") return at::kBool;
  throw InvalidArgument("unknown safetensors dtype \"" + name + "\"");
}

std::map<std::string, at::Tensor> read_weight_files(const std::vector<WeightFile>& files, at::ScalarType dtype,
                                                    const at::Device& device) {
  std::map<std::string, at::Tensor> out;
  for (const WeightFile& file : files) {
    // O_NONBLOCK: opening a FIFO (swapped in after TypeScript checked the path) must not wait for a writer.
    int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw InvalidArgument(file.path + ": cannot open: " + errno_text());
    FileCloser closer{fd};
    struct stat info {};
    if (::fstat(fd, &info) != 0) throw InvalidArgument(file.path + ": cannot stat: " + errno_text());
    require(S_ISREG(info.st_mode), file.path + ": not a regular file (" + file_kind(info.st_mode) +
                                       "); weights are read from regular files only");
    const auto file_size = static_cast<uint64_t>(info.st_size);

    std::vector<const TensorEntry*> by_offset;
    for (const TensorEntry& entry : file.tensors) by_offset.push_back(&entry);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
    for (size_t i = 0; i < by_offset.size(); ++i) {
      const TensorEntry& entry = *by_offset[i];
      const std::string where = file.path + ": tensor \"" + entry.name + "\"";
      require(entry.begin <= entry.end, where + " has begin > end");
      require(entry.end <= file_size, where + " ends at byte " + std::to_string(entry.end) +
                                          " but the file has " + std::to_string(file_size) + " bytes");
      if (i > 0) {
        const TensorEntry& previous = *by_offset[i - 1];
        require(previous.end <= entry.begin, where + " overlaps tensor \"" + previous.name + "\"");
      }
      at::ScalarType stored = safetensors_dtype(entry.dtype);
      int64_t count = 1;
      for (int64_t dim : entry.shape) {
        require(dim >= 0, where + " has a negative dimension");
        require(dim == 0 || count <= INT64_MAX / dim, where + " has a shape too large to address");
        count *= dim;
      }
      require(static_cast<uint64_t>(count * element_size(stored)) == entry.end - entry.begin,
              where + " holds " + std::to_string(entry.end - entry.begin) + " bytes but its shape needs " +
                  std::to_string(count * element_size(stored)));
      require(out.find(entry.name) == out.end(), where + " appears in more than one file");
      at::Tensor raw = at::empty(entry.shape, at::TensorOptions().dtype(stored));
      read_exact(fd, static_cast<char*>(raw.data_ptr()), entry.end - entry.begin, entry.begin, file.path);
      require_finite(raw, where);
      out.emplace(entry.name, raw.to(device, dtype));
    }
  }
  return out;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<std::string, at::Tensor>> sorted;
  for (const auto& [name, tensor] : tensors) sorted.emplace_back(name, tensor.detach().to(at::kCPU).contiguous());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  std::ostringstream header;
  header << "{\"__metadata__\":{";
  bool first = true;
  for (const auto& [key, value] : metadata) {
    header << (first ? "" : ",") << '"' << json_escape(key) << "\":\"" << json_escape(value) << '"';
    first = false;
  }
  header << '}';
  uint64_t offset = 0;
  for (const auto& [name, tensor] : sorted) {
    uint64_t bytes = tensor.numel() * tensor.element_size();
    header << ",\"" << json_escape(name) << "\":{\"dtype\":\"" << safetensors_name(tensor.scalar_type())
           << "\",\"shape\":[";
    for (int64_t d = 0; d < tensor.dim(); ++d) header << (d ? "," : "") << tensor.size(d);
    header << "],\"data_offsets\":[" << offset << ',' << offset + bytes << "]}";
    offset += bytes;
  }
  header << '}';
  std::string header_text = header.str();
  while (header_text.size() % 8 != 0) header_text += ' ';  // keeps the data 8-byte aligned

  const std::string temp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(temp + ": cannot create: " + errno_text());
  try {
    FileCloser closer{fd};
    uint64_t length = header_text.size();
    unsigned char length_bytes[8];
    for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<unsigned char>(length >> (8 * i));
    write_all(fd, reinterpret_cast<const char*>(length_bytes), 8, temp);
    write_all(fd, header_text.data(), header_text.size(), temp);
    for (const auto& [name, tensor] : sorted) {
      write_all(fd, static_cast<const char*>(tensor.data_ptr()), tensor.numel() * tensor.element_size(), temp);
    }
    if (::fsync(fd) != 0) throw std::runtime_error(temp + ": fsync failed: " + errno_text());
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    std::string reason = errno_text();
    ::unlink(temp.c_str());
    throw std::runtime_error("cannot rename " + temp + " to " + path + ": " + reason);
  }
}

}  // namespace rexrag
