// Implements policy.h: strict checkpoint loading, random initialisation, parameter access and saving, and
// batched teacher-forced scoring with the LM head applied in time chunks (never a full (B, T, V) tensor).
#include "core/policy.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <sstream>

#include "core/errors.h"
#include "core/policy_state.h"
#include "core/token_logprobs.h"
#include "core/weights_io.h"

namespace rexrag {
namespace {

std::unique_ptr<PolicyState> make_state(const Qwen2Config& config, const PolicyOptions& options) {
  auto state = std::make_unique<PolicyState>();
  state->device = at::Device(options.device);
  state->dtype = compute_dtype(options.dtype);
  state->generation_dtype = options.generation_dtype.empty() ? state->dtype : compute_dtype(options.generation_dtype);
  state->model = Qwen2ForCausalLM(config);
  return state;
}

/// Parameters Qwen2ForCausalLM has for `config`, as a double (absurd configs pass int64's range).
double parameter_count(const Qwen2Config& config) {
  const double H = config.hidden_size, I = config.intermediate_size, V = config.vocab_size;
  const double D = H / config.num_attention_heads;
  const double q = config.num_attention_heads * D, kv = config.num_key_value_heads * D;
  const double per_layer = 2 * H + (q * H + q) + 2 * (kv * H + kv) + H * q + 3 * I * H;
  return V * H + config.num_hidden_layers * per_layer + H + (config.tie_word_embeddings ? 0 : V * H);
}

/// Refuses, before the model is allocated, a config that needs more parameters than the checkpoint holds
/// (e.g. num_hidden_layers: 200000000 beside a 1 MB checkpoint would otherwise abort out of memory). What was
/// read is bounded by the files' real sizes, so it is read first and the strict name check comes after.
void require_weights_cover_config(const Qwen2Config& config, const std::map<std::string, at::Tensor>& loaded) {
  double stored = 0;
  for (const auto& [name, tensor] : loaded) stored += static_cast<double>(tensor.numel());
  const double wanted = parameter_count(config);
  if (wanted > stored) {
    std::ostringstream message;
    message << "the config (num_hidden_layers " << config.num_hidden_layers << ", hidden_size " << config.hidden_size
            << ", intermediate_size " << config.intermediate_size << ", vocab_size " << config.vocab_size << ") needs "
            << wanted << " parameters but the weight files hold " << stored << " values";
    throw InvalidArgument(message.str());
  }
}

/// Every tensor of the checkpoint as float32 on the CPU; a tied checkpoint's lm_head.weight (a copy of the
/// embedding some checkpoints still carry) is dropped.
std::map<std::string, at::Tensor> read_checkpoint(const Qwen2Config& config, const std::vector<WeightFile>& files) {
  std::map<std::string, at::Tensor> loaded = read_weight_files(files, at::kFloat, at::Device(at::kCPU));
  if (config.tie_word_embeddings) loaded.erase("lm_head.weight");
  return loaded;
}

/// Copies a checkpoint into the model, strictly: the names and shapes must be exactly the model's.
void assign_weights(PolicyState& state, const std::map<std::string, at::Tensor>& loaded) {
  auto parameters = state.model->named_parameters();
  match_tensors(loaded, parameters.pairs(), "checkpoint does not match the Qwen2 config");
  torch::NoGradGuard no_grad;
  for (auto& item : parameters) item.value().copy_(loaded.at(item.key()).to(item.value().device(), item.value().scalar_type()));
  state.version += 1;
}

}  // namespace

at::ScalarType compute_dtype(const std::string& name) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  throw InvalidArgument("dtype must be float32, bfloat16 or float16, got \"" + name + "\"");
}

Qwen2ForCausalLMImpl& PolicyState::for_generation() {
  if (generation_dtype == dtype) return *model;
  if (!generation_copy) {
    generation_copy = Qwen2ForCausalLM(model->config);
    generation_copy->to_device(device, generation_dtype);
    for (auto& item : generation_copy->named_parameters()) item.value().set_requires_grad(false);
    generation_version = version + 1;  // forces the first sync
  }
  if (generation_version != version) {
    torch::NoGradGuard no_grad;
    auto source = model->named_parameters();
    for (auto& item : generation_copy->named_parameters()) item.value().copy_(source[item.key()]);
    generation_version = version;
  }
  return *generation_copy;
}

at::Tensor causal_key_mask(const at::Tensor& valid) {
  const int64_t steps = valid.size(1);
  at::Tensor causal = at::ones({steps, steps}, valid.options().dtype(at::kBool)).tril();  // (T, T)
  return causal.unsqueeze(0) & valid.unsqueeze(1);  // (B, T, T): key must be real and not in the future
}

at::Tensor positions_from_mask(const at::Tensor& valid) {
  return (valid.to(at::kLong).cumsum(1) - 1).clamp_min(0);  // (B, T)
}

Policy::Policy(std::unique_ptr<PolicyState> state) : state_(std::move(state)) {}
Policy::~Policy() = default;

const Qwen2Config& Policy::config() const { return state_->model->config; }
PolicyState& Policy::state() { return *state_; }

std::shared_ptr<Policy> Policy::load(const Qwen2Config& config, const std::vector<WeightFile>& files,
                                     const PolicyOptions& options) {
  config.validate();
  std::map<std::string, at::Tensor> loaded = read_checkpoint(config, files);  // bounded by the files' sizes
  require_weights_cover_config(config, loaded);
  auto policy = std::shared_ptr<Policy>(new Policy(make_state(config, options)));
  policy->options_ = options;
  policy->state_->model->to_device(policy->state_->device, policy->state_->dtype);
  assign_weights(*policy->state_, loaded);
  return policy;
}

void Policy::load_weights(const std::vector<WeightFile>& files) {
  assign_weights(*state_, read_checkpoint(config(), files));
}

std::shared_ptr<Policy> Policy::frozen_copy() const {
  auto copy = std::shared_ptr<Policy>(new Policy(make_state(config(), options_)));
  copy->options_ = options_;
  copy->state_->model->to_device(state_->device, state_->dtype);
  torch::NoGradGuard no_grad;
  auto source = state_->model->named_parameters();
  for (auto& item : copy->state_->model->named_parameters()) {
    item.value().copy_(source[item.key()]);
    item.value().set_requires_grad(false);
  }
  return copy;
}

std::shared_ptr<Policy> Policy::random(const Qwen2Config& config, uint64_t seed, const PolicyOptions& options) {
  auto state = make_state(config, options);
  auto generator = at::detail::createCPUGenerator(seed);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : state->model->named_parameters()) {
      const std::string& name = item.key();
      bool is_norm = name.size() >= 11 && name.compare(name.size() - 11, 11, "norm.weight") == 0;
      if (is_norm) {
        item.value().fill_(1.0);
      } else {
        item.value().normal_(0.0, 0.02, generator);
      }
    }
  }
  state->model->to_device(state->device, state->dtype);
  auto policy = std::shared_ptr<Policy>(new Policy(std::move(state)));
  policy->options_ = options;
  return policy;
}

int64_t Policy::parameter_bytes() const {
  int64_t bytes = 0;
  for (const auto& item : state_->model->named_parameters()) bytes += item.value().nbytes();
  if (state_->generation_copy) {
    for (const auto& item : state_->generation_copy->named_parameters()) bytes += item.value().nbytes();
  }
  return bytes;
}

std::vector<Policy::ParameterInfo> Policy::parameters() const {
  std::vector<ParameterInfo> out;
  for (const auto& item : state_->model->named_parameters()) {
    out.push_back({item.key(), item.value().sizes().vec()});
  }
  return out;
}

std::vector<float> Policy::parameter_values(const std::string& name) const {
  auto parameters = state_->model->named_parameters();
  const at::Tensor* found = parameters.find(name);
  require(found != nullptr, "no parameter named \"" + name + "\"");
  at::Tensor values = found->detach().to(at::kCPU, at::kFloat).contiguous();
  return std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
}

void Policy::save(const std::string& path, const std::string& dtype) const {
  at::ScalarType stored = compute_dtype(dtype);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : state_->model->named_parameters()) {
    tensors.emplace_back(item.key(), item.value().detach().to(stored));
  }
  write_safetensors(path, tensors, {{"format", "pt"}});
}

Policy::ScoreResult Policy::score(const ScoreRequest& request) {
  require(request.chunk_size >= 1, "chunkSize must be at least 1");
  const int64_t vocab = config().vocab_size;
  std::vector<int64_t> starts;
  int64_t total = 0;
  for (int64_t length : request.lengths) {
    require(length >= 1, "every row must have at least one token");
    starts.push_back(total);
    total += length;
  }
  require(total == static_cast<int64_t>(request.ids.size()),
          "lengths add up to " + std::to_string(total) + " but ids has " + std::to_string(request.ids.size()));
  require(request.mask.empty() || static_cast<int64_t>(request.mask.size()) == total,
          "lossMask has " + std::to_string(request.mask.size()) + " values but ids has " + std::to_string(total));
  for (int32_t id : request.ids) {
    require(id >= 0 && id < vocab, "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                       std::to_string(vocab) + ")");
  }

  ScoreResult result;
  result.logps.assign(total, 0.0f);
  if (request.with_entropy) result.entropies.assign(total, 0.0f);
  torch::NoGradGuard no_grad;
  Qwen2ForCausalLMImpl& model = *state_->model;
  const auto rows = static_cast<int64_t>(request.lengths.size());

  int64_t first = 0;
  while (first < rows) {
    // Grow the micro-batch while its padded size stays within the token budget (always at least one row).
    int64_t last = first + 1, width = request.lengths[first];
    while (last < rows && std::max(width, request.lengths[last]) * (last - first + 1) <= request.micro_batch_tokens) {
      width = std::max(width, request.lengths[last]);
      ++last;
    }
    const int64_t batch = last - first;
    at::Tensor ids = at::zeros({batch, width}, at::kLong);    // (B, T), right-padded
    at::Tensor valid = at::zeros({batch, width}, at::kBool);  // (B, T)
    int64_t* ids_data = ids.data_ptr<int64_t>();
    bool* valid_data = valid.data_ptr<bool>();
    // The scored tokens: position t >= 1 of a row (and in the mask when there is one); hidden t - 1 predicts it.
    std::vector<int64_t> sel_batch, sel_position, sel_out;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t length = request.lengths[first + b];
      const int64_t base = starts[first + b];
      for (int64_t t = 0; t < length; ++t) {
        ids_data[b * width + t] = request.ids[base + t];
        valid_data[b * width + t] = true;
        if (t >= 1 && (request.mask.empty() || request.mask[base + t] != 0)) {
          sel_batch.push_back(b);
          sel_position.push_back(t);
          sel_out.push_back(base + t);
        }
      }
    }
    first = last;
    if (sel_out.empty()) continue;
    ids = ids.to(state_->device);
    valid = valid.to(state_->device);
    at::Tensor hidden = model.hidden_states(ids, positions_from_mask(valid), causal_key_mask(valid),
                                            /*recompute=*/false);
    at::Tensor batch_index = at::tensor(sel_batch, at::kLong).to(state_->device);
    at::Tensor position = at::tensor(sel_position, at::kLong).to(state_->device);
    auto [logp, entropy] = token_logprobs(hidden.index({batch_index, position - 1}), model.lm_head_weight(),
                                          ids.index({batch_index, position}), request.chunk_size, request.temperature,
                                          request.with_entropy);
    at::Tensor logp_cpu = logp.to(at::kCPU).contiguous();
    at::Tensor entropy_cpu = entropy.to(at::kCPU).contiguous();
    for (size_t i = 0; i < sel_out.size(); ++i) {
      if (!std::isfinite(logp_cpu.data_ptr<float>()[i])) {
        throw std::runtime_error("scoring produced a non-finite log-prob (NaN or infinity) at token " +
                                 std::to_string(sel_out[i]) + " of the batch: the policy's weights or activations " +
                                 "overflowed (a diverged training step?)");
      }
      result.logps[sel_out[i]] = logp_cpu.data_ptr<float>()[i];
      if (request.with_entropy) result.entropies[sel_out[i]] = entropy_cpu.data_ptr<float>()[i];
    }
  }
  return result;
}

}  // namespace rexrag
