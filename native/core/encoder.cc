// Implements encoder.h: strict loading of HF BERT checkpoints into BertModel, and batched encoding (rows sorted
// by length, grouped under a token budget, right-padded) with mean or [CLS] pooling and L2 normalisation.
#include "core/encoder.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <sstream>

#include "core/bert.h"
#include "core/errors.h"
#include "core/policy_state.h"  // compute_dtype
#include "core/weights_io.h"

namespace rexrag {

struct SentenceEncoderState {
  BertModel model{nullptr};
  at::Device device{at::kCPU};
  at::ScalarType dtype = at::kFloat;
};

namespace {

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The BertModel parameter a checkpoint key stands for, as HF's loader maps it: a BertFor* checkpoint prefixes
/// the encoder's keys with `bert.`, and old TF-converted ones name LayerNorm parameters `gamma` / `beta`.
std::string canonical_key(const std::string& key) {
  std::string name = starts_with(key, "bert.") ? key.substr(5) : key;
  if (ends_with(name, "LayerNorm.gamma")) name = name.substr(0, name.size() - 5) + "weight";
  if (ends_with(name, "LayerNorm.beta")) name = name.substr(0, name.size() - 4) + "bias";
  return name;
}

/// Keys a BertModel checkpoint may carry that the encoder does not use: the pooler (the [CLS] projection of the
/// next-sentence head; E5 mean-pools instead) and the position-id buffer older transformers versions saved.
bool ignored_key(const std::string& name) { return starts_with(name, "pooler.") || name == "embeddings.position_ids"; }

}  // namespace

SentenceEncoder::SentenceEncoder(std::unique_ptr<SentenceEncoderState> state) : state_(std::move(state)) {}
SentenceEncoder::~SentenceEncoder() = default;

const BertConfig& SentenceEncoder::config() const { return state_->model->config; }

std::shared_ptr<SentenceEncoder> SentenceEncoder::load(const BertConfig& config, const std::vector<WeightFile>& files,
                                                       const SentenceEncoderOptions& options) {
  auto state = std::make_unique<SentenceEncoderState>();
  state->device = at::Device(options.device);
  state->dtype = compute_dtype(options.dtype);
  state->model = BertModel(config);
  state->model->eval();

  std::map<std::string, at::Tensor> stored = read_weight_files(files, at::kFloat, at::Device(at::kCPU));
  std::map<std::string, at::Tensor> loaded;
  std::vector<std::string> duplicated;
  auto parameters = state->model->named_parameters();
  for (auto& [key, tensor] : stored) {
    const std::string name = canonical_key(key);
    if (ignored_key(name)) continue;
    if (!loaded.emplace(name, tensor).second) {
      duplicated.push_back("duplicated: " + key + " (also stored under another name for " + name + ")");
    }
  }
  match_tensors(loaded, parameters.pairs(),
                "checkpoint does not match the BERT config", duplicated);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : parameters) {
      item.value().copy_(loaded.at(item.key()));
      item.value().set_requires_grad(false);
    }
  }
  state->model->to(state->device, state->dtype);
  return std::shared_ptr<SentenceEncoder>(new SentenceEncoder(std::move(state)));
}

std::vector<float> SentenceEncoder::encode(const EncodeRequest& request) {
  const BertConfig& cfg = config();
  require(request.pooling == "mean" || request.pooling == "cls",
          "pooling must be \"mean\" or \"cls\", got \"" + request.pooling + "\"");
  require(request.micro_batch_tokens >= 1, "microBatchTokens must be at least 1");
  const auto rows = static_cast<int64_t>(request.lengths.size());
  std::vector<int64_t> starts;
  int64_t total = 0;
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t length = request.lengths[row];
    require(length >= 1 && length <= cfg.max_position_embeddings,
            "lengths[" + std::to_string(row) + "] is " + std::to_string(length) + "; every row needs 1 to " +
                std::to_string(cfg.max_position_embeddings) + " tokens (max_position_embeddings)");
    starts.push_back(total);
    total += length;
  }
  require(total == static_cast<int64_t>(request.ids.size()),
          "lengths add up to " + std::to_string(total) + " but ids has " + std::to_string(request.ids.size()));
  for (int32_t id : request.ids) {
    require(id >= 0 && id < cfg.vocab_size, "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                                std::to_string(cfg.vocab_size) + ")");
  }

  const int64_t hidden = cfg.hidden_size;
  std::vector<float> out(static_cast<size_t>(rows * hidden), 0.0f);
  // Longest rows first, so each group's rows have similar lengths and little padding.
  std::vector<int64_t> order(rows);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return request.lengths[a] > request.lengths[b]; });

  torch::NoGradGuard no_grad;
  BertModelImpl& model = *state_->model;
  int64_t first = 0;
  while (first < rows) {
    // The first row of a group is its longest; add rows while the padded size stays within the budget.
    const int64_t width = request.lengths[order[first]];
    int64_t last = first + 1;
    while (last < rows && width * (last - first + 1) <= request.micro_batch_tokens) ++last;
    const int64_t batch = last - first;
    at::Tensor ids = at::zeros({batch, width}, at::kLong);    // (B, T), right-padded
    at::Tensor valid = at::zeros({batch, width}, at::kBool);  // (B, T)
    int64_t* ids_data = ids.data_ptr<int64_t>();
    bool* valid_data = valid.data_ptr<bool>();
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t row = order[first + b];
      const int32_t* source = request.ids.data() + starts[row];
      for (int64_t t = 0; t < request.lengths[row]; ++t) {
        ids_data[b * width + t] = source[t];
        valid_data[b * width + t] = true;
      }
    }
    ids = ids.to(state_->device);
    valid = valid.to(state_->device);
    // A single sequence per row: every token has token type 0, as the [CLS] A [SEP] template assigns.
    at::Tensor states = model.forward(ids, at::zeros_like(ids), valid).to(at::kFloat);  // (B, T, H)
    at::Tensor pooled;                                                                  // (B, H)
    if (request.pooling == "mean") {
      // Σ_t m_t h_t / Σ_t m_t over the attention mask m, as E5's average_pool.
      at::Tensor mask = valid.unsqueeze(-1).to(at::kFloat);      // (B, T, 1)
      pooled = (states * mask).sum(1) / mask.sum(1).clamp_min(1.0);  // (B, H)
    } else {
      pooled = states.select(1, 0);  // (B, H): the [CLS] state
    }
    // x / max(‖x‖₂, 1e-12), torch.nn.functional.normalize's formula.
    if (request.normalize) pooled = pooled / pooled.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12);
    pooled = pooled.to(at::kCPU).contiguous();
    const float* pooled_data = pooled.data_ptr<float>();
    for (int64_t b = 0; b < batch; ++b) {
      std::copy(pooled_data + b * hidden, pooled_data + (b + 1) * hidden, out.begin() + order[first + b] * hidden);
    }
    first = last;
  }
  return out;
}

}  // namespace rexrag
