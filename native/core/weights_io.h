// Reading tensors out of safetensors files and writing them back. TypeScript parses and validates the JSON
// header (lib/model/safetensors.ts); this side re-checks every byte range against the real file before it
// reads, so a lying header cannot cause an out-of-bounds read or a huge allocation.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/weight_files.h"

namespace rexrag {

/// Reads every tensor of every file, converted to `dtype` on `device`. Throws InvalidArgument naming the file
/// and tensor for a path that is not a regular file (a FIFO is refused without blocking), a range beyond the
/// file, overlapping ranges, an unknown dtype, a byte count that does not match the shape, or NaN / infinite
/// values in a floating-point tensor.
std::map<std::string, at::Tensor> read_weight_files(const std::vector<WeightFile>& files, at::ScalarType dtype,
                                                    const at::Device& device);

/// Writes tensors (any device, float32/bfloat16/float16/int64/int32) as one safetensors file, atomically:
/// a temp file in the same folder, fsync, then rename over `path`.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata);

/// The one strict weight-name check every loader uses (policy and reference weights, the BERT encoder, the
/// trainer state): each expected tensor must be in `loaded` under its name with its shape, and `loaded` may hold
/// nothing else. Otherwise throws InvalidArgument "<what>:" listing the missing, unexpected and mis-shaped names,
/// and any `problems` the caller found on the way (e.g. duplicated keys).
void match_tensors(const std::map<std::string, at::Tensor>& loaded,
                   const std::vector<std::pair<std::string, at::Tensor>>& expected, const std::string& what,
                   const std::vector<std::string>& problems = {});

/// Parses a safetensors dtype name ("F32", "BF16", ...) or throws InvalidArgument.
at::ScalarType safetensors_dtype(const std::string& name);

}  // namespace rexrag
