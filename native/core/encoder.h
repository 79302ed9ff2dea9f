// The sentence encoder as the N-API layer sees it: load a BERT checkpoint (HF BertModel, e.g. E5) strictly and
// turn batches of token ids into pooled, optionally L2-normalised embeddings. Torch-free header: the model lives
// behind an opaque pointer. Tokenisation and the E5 prefixes are the caller's (lib/retrieval/e5-embedder.ts).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/bert_config.h"
#include "core/weight_files.h"

namespace rexrag {

struct SentenceEncoderState;  // the BERT module, its device and dtype (encoder.cc)

struct SentenceEncoderOptions {
  std::string dtype = "float32";  // compute dtype: float32, bfloat16 or float16
  std::string device = "cpu";
};

class SentenceEncoder {
 public:
  /// Loads a checkpoint strictly: every parameter present exactly once with its shape. Keys may carry HF's
  /// `bert.` prefix (a BertFor* checkpoint); `pooler.*` and `embeddings.position_ids` are ignored.
  static std::shared_ptr<SentenceEncoder> load(const BertConfig& config, const std::vector<WeightFile>& files,
                                               const SentenceEncoderOptions& options);
  ~SentenceEncoder();

  const BertConfig& config() const;

  struct EncodeRequest {
    std::vector<int32_t> ids;      // rows concatenated, each with its special tokens ([CLS] ... [SEP])
    std::vector<int64_t> lengths;  // tokens per row, in [1, max_position_embeddings]
    std::string pooling = "mean";  // "mean": average over the row's tokens; "cls": the first token's state
    bool normalize = true;         // divide each embedding by its L2 norm
    int64_t micro_batch_tokens = 8192;  // rows run in groups whose padded size (rows x width) stays under this
  };
  /// Embeddings (rows, hidden_size), row-major float32, in the order of the request's rows.
  std::vector<float> encode(const EncodeRequest& request);

 private:
  explicit SentenceEncoder(std::unique_ptr<SentenceEncoderState> state);
  std::unique_ptr<SentenceEncoderState> state_;
};

}  // namespace rexrag
