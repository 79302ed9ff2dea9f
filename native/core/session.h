// Batched multi-turn generation with per-row KV caches. A row is a growing token sequence (a trajectory);
// generate() runs one turn for many rows in one batch: prefill of each row's uncached tokens, then decoding
// with sampling and stop checks until every row stops. Rows keep their caches between calls, so appending an
// observation only prefills the new tokens, and clone() shares a row's cached prefix. Torch-free header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/policy.h"

namespace rexrag {

struct SamplingParams {
  double temperature = 1.0;  // 0: greedy
  double top_p = 1.0;
  int64_t top_k = 0;  // <= 0: off
  int64_t max_new_tokens = 512;
  uint64_t seed = 0;
  std::vector<std::string> stop_strings;  // matched on the bytes of the new tokens
  std::vector<int64_t> eos_token_ids;
  int64_t vocab_limit = 0;  // > 0: ids >= vocab_limit are never sampled (padding rows of the embedding)
};

enum class StopReason { Stop, Eos, Length };

struct GeneratedRow {
  int64_t row = 0;
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;        // under the sampling distribution (temperature, top-k, top-p, vocab limit)
  std::vector<float> model_logprobs;  // under log_softmax(logits): what teacher forcing reports
  StopReason stop_reason = StopReason::Length;
  std::string stop_string;
};

class GenerationSession {
 public:
  /// `token_bytes[id]` is the byte string of token `id`; needed only for stop strings.
  GenerationSession(std::shared_ptr<Policy> policy, std::shared_ptr<const std::vector<std::string>> token_bytes);
  ~GenerationSession();

  int64_t add_row(const std::vector<int32_t>& tokens);
  void append(int64_t row, const std::vector<int32_t>& tokens);
  /// A new row with the first `keep` tokens of `row` (all when keep < 0); it shares the cached prefix.
  int64_t clone(int64_t row, int64_t keep);
  std::vector<int32_t> tokens(int64_t row) const;
  void release(int64_t row);
  int64_t row_count() const;
  /// Bytes of KV cache the rows hold (shared storage counted once): what the JS handle reports to V8.
  int64_t cache_bytes() const;
  /// Sessions alive in this process (constructed and not yet destroyed), to check that finalizers free them.
  static int64_t live_count();
  /// One turn for `rows` (distinct ids); new tokens are appended to the rows.
  std::vector<GeneratedRow> generate(const std::vector<int64_t>& rows, const SamplingParams& params);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rexrag
