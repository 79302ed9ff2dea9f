// The policy model as the N-API layer sees it: load or initialise a Qwen2 model, score token sequences
// (teacher-forced per-token log-probs and entropies), inspect and save its parameters. Torch-free header:
// the model lives behind an opaque pointer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/qwen2_config.h"
#include "core/weight_files.h"

namespace rexrag {

struct PolicyState;  // the Qwen2 module, its device and dtype (policy_state.h, torch-side)

struct PolicyOptions {
  std::string dtype = "float32";  // compute dtype: float32 or bfloat16
  std::string generation_dtype;   // dtype of generation (empty: the compute dtype); a copy is kept when it differs
  std::string device = "cpu";
};

class Policy {
 public:
  /// Loads a checkpoint strictly: every parameter must be present exactly once with its shape. A config that
  /// needs more parameters than the files hold is refused before anything is allocated.
  static std::shared_ptr<Policy> load(const Qwen2Config& config, const std::vector<WeightFile>& files,
                                      const PolicyOptions& options);
  /// Random initialisation (normal(0, 0.02) matrices, unit norms, zero biases), for tests and benchmarks.
  static std::shared_ptr<Policy> random(const Qwen2Config& config, uint64_t seed, const PolicyOptions& options);
  ~Policy();

  /// A frozen copy (no gradients) of the current weights on the same device, e.g. the KL reference.
  std::shared_ptr<Policy> frozen_copy() const;
  /// Replaces every parameter from checkpoint files, strictly (same rules as load()).
  void load_weights(const std::vector<WeightFile>& files);

  const Qwen2Config& config() const;
  PolicyState& state();

  struct ParameterInfo {
    std::string name;
    std::vector<int64_t> shape;
  };
  std::vector<ParameterInfo> parameters() const;
  /// Bytes held by the parameters (and the generation copy, once made): what the JS handle reports to V8.
  int64_t parameter_bytes() const;
  /// A parameter's values as float32, row-major.
  std::vector<float> parameter_values(const std::string& name) const;
  /// Writes every parameter to one safetensors file (atomically), stored as `dtype` (float32 or bfloat16).
  void save(const std::string& path, const std::string& dtype) const;

  struct ScoreRequest {
    std::vector<int32_t> ids;      // rows concatenated
    std::vector<int64_t> lengths;  // tokens per row (>= 1)
    std::vector<uint8_t> mask;     // optional, aligned with ids: only tokens with 1 are scored (others get 0)
    int64_t chunk_size;            // scored tokens per LM-head pass (the vocabulary is sliced: <= 16M logits at once)
    bool with_entropy;
    int64_t micro_batch_tokens;    // rows are scored in groups whose padded size stays under this
    double temperature;            // log-probs of softmax(logits / temperature); 1: the model's own
  };
  struct ScoreResult {
    std::vector<float> logps;      // aligned with ids; a row's first token has 0 (no prefix)
    std::vector<float> entropies;  // entropy of the distribution that predicted each token; empty unless asked
  };
  /// Per-token log p(x_t | x_<t) of each row, teacher-forced, without gradients.
  ScoreResult score(const ScoreRequest& request);

 private:
  explicit Policy(std::unique_ptr<PolicyState> state);
  PolicyOptions options_;
  std::unique_ptr<PolicyState> state_;
};

}  // namespace rexrag
