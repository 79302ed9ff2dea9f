// Torch-free description of the tensors in safetensors files, as validated by the TypeScript header reader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rexrag {

struct TensorEntry {
  std::string name;
  std::string dtype;  // safetensors dtype: F32, BF16, F16, F64, I64, I32, I16, I8, U8, BOOL
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // absolute byte offsets in the file
  uint64_t end = 0;
};

struct WeightFile {
  std::string path;
  std::vector<TensorEntry> tensors;
};

}  // namespace rexrag
