// Implements session.h. Layout of one generate() call for rows with c_b cached and p_b pending tokens:
//   batch cache  [ left pad | c_b cached keys | pad | p_b pending ]  then one column per decoded token,
// with a key mask marking the real keys and explicit position ids, so rows of any lengths share one batch.
// The last token of a row is never cached (it is the next step's input), so every row always has at least
// one pending token to produce its next logits.
#include "core/session.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <map>
#include <set>
#include <unordered_set>

#include "core/errors.h"
#include "core/policy_state.h"
#include "core/sampling.h"

namespace rexrag {
namespace {

struct Row {
  std::vector<int32_t> tokens;
  int64_t cached = 0;          // tokens[0, cached) have keys/values in k/v
  std::vector<at::Tensor> k;   // per layer (n_kv_heads, cached, D); views may share a parent's storage
  std::vector<at::Tensor> v;
};

/// Per-row decoding state inside one generate() call.
struct Decoding {
  int64_t row_id;
  Row* row;
  GeneratedRow result;
  std::string new_bytes;  // bytes of the tokens generated in this call, for stop strings
  bool done = false;
};

}  // namespace

struct GenerationSession::State {
  std::shared_ptr<Policy> policy;
  std::shared_ptr<const std::vector<std::string>> token_bytes;
  std::map<int64_t, Row> rows;
  int64_t next_id = 0;

  Row& row(int64_t id) {
    auto found = rows.find(id);
    require(found != rows.end(), "no row " + std::to_string(id) + " in this session (released or never added)");
    return found->second;
  }
  void check_tokens(const std::vector<int32_t>& tokens) const {
    const int64_t vocab = policy->config().vocab_size;
    for (int32_t id : tokens) {
      require(id >= 0 && id < vocab, "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                         std::to_string(vocab) + ")");
    }
  }
};

namespace {
std::atomic<int64_t> live_sessions{0};
}  // namespace

GenerationSession::GenerationSession(std::shared_ptr<Policy> policy,
                                     std::shared_ptr<const std::vector<std::string>> token_bytes)
    : state_(std::make_unique<State>()) {
  state_->policy = std::move(policy);
  state_->token_bytes = std::move(token_bytes);
  live_sessions += 1;
}

GenerationSession::~GenerationSession() { live_sessions -= 1; }

int64_t GenerationSession::live_count() { return live_sessions.load(); }

int64_t GenerationSession::cache_bytes() const {
  // Clones share their parent's cache storage: count each storage once.
  std::unordered_set<const void*> seen;
  int64_t bytes = 0;
  for (const auto& [id, row] : state_->rows) {
    for (const auto* layers : {&row.k, &row.v}) {
      for (const at::Tensor& tensor : *layers) {
        if (!tensor.defined() || !seen.insert(tensor.storage().data()).second) continue;
        bytes += static_cast<int64_t>(tensor.storage().nbytes());
      }
    }
  }
  return bytes;
}

int64_t GenerationSession::add_row(const std::vector<int32_t>& tokens) {
  require(!tokens.empty(), "a row needs at least one token");
  state_->check_tokens(tokens);
  Row row;
  row.tokens = tokens;
  state_->rows.emplace(state_->next_id, std::move(row));
  return state_->next_id++;
}

void GenerationSession::append(int64_t id, const std::vector<int32_t>& tokens) {
  Row& row = state_->row(id);
  state_->check_tokens(tokens);
  row.tokens.insert(row.tokens.end(), tokens.begin(), tokens.end());
}

int64_t GenerationSession::clone(int64_t id, int64_t keep) {
  const Row& source = state_->row(id);
  const auto size = static_cast<int64_t>(source.tokens.size());
  if (keep < 0) keep = size;
  require(keep >= 1 && keep <= size, "keepTokens must be in [1, " + std::to_string(size) + "], got " +
                                         std::to_string(keep));
  Row copy;
  copy.tokens.assign(source.tokens.begin(), source.tokens.begin() + keep);
  copy.cached = std::min(source.cached, keep - 1);
  for (size_t l = 0; l < source.k.size(); ++l) {
    copy.k.push_back(source.k[l].narrow(1, 0, copy.cached));  // views: the prefix is shared, never written
    copy.v.push_back(source.v[l].narrow(1, 0, copy.cached));
  }
  state_->rows.emplace(state_->next_id, std::move(copy));
  return state_->next_id++;
}

std::vector<int32_t> GenerationSession::tokens(int64_t id) const {
  return const_cast<State&>(*state_).row(id).tokens;
}

void GenerationSession::release(int64_t id) {
  state_->row(id);
  state_->rows.erase(id);
}

int64_t GenerationSession::row_count() const { return static_cast<int64_t>(state_->rows.size()); }

std::vector<GeneratedRow> GenerationSession::generate(const std::vector<int64_t>& row_ids,
                                                      const SamplingParams& params) {
  require(!row_ids.empty(), "generate needs at least one row");
  require(params.max_new_tokens >= 1, "maxNewTokens must be at least 1");
  require(params.temperature >= 0, "temperature must be >= 0");
  require(params.top_p > 0 && params.top_p <= 1, "topP must be in (0, 1]");
  require(std::set<int64_t>(row_ids.begin(), row_ids.end()).size() == row_ids.size(), "row ids must be distinct");
  const std::vector<std::string>& table = *state_->token_bytes;
  require(params.stop_strings.empty() || !table.empty(),
          "stop strings need the token bytes table (setTokenBytes) of this model");
  for (const std::string& stop : params.stop_strings) require(!stop.empty(), "stop strings must not be empty");
  const std::unordered_set<int64_t> eos(params.eos_token_ids.begin(), params.eos_token_ids.end());

  torch::NoGradGuard no_grad;
  PolicyState& policy = state_->policy->state();
  Qwen2ForCausalLMImpl& model = policy.for_generation();
  const Qwen2Config& config = model.config;
  const int64_t layers = config.num_hidden_layers, kv_heads = config.num_key_value_heads, dim = config.head_dim();
  const auto options = at::TensorOptions().device(policy.device);

  std::vector<Decoding> decoding;
  for (int64_t id : row_ids) decoding.push_back({id, &state_->row(id), {}, {}, false});
  const auto batch = static_cast<int64_t>(decoding.size());
  int64_t cached_width = 0, pending_width = 0;
  for (const Decoding& d : decoding) {
    cached_width = std::max(cached_width, d.row->cached);
    pending_width = std::max(pending_width, static_cast<int64_t>(d.row->tokens.size()) - d.row->cached);
  }
  const int64_t prefix_width = cached_width + pending_width;

  // Batch cache with room for every token this call can add; rows are right-aligned at prefix_width.
  LayerCache cache;
  const int64_t capacity = prefix_width + params.max_new_tokens;
  for (int64_t l = 0; l < layers; ++l) {
    cache.k.push_back(at::zeros({batch, kv_heads, capacity, dim}, options.dtype(policy.generation_dtype)));
    cache.v.push_back(at::zeros({batch, kv_heads, capacity, dim}, options.dtype(policy.generation_dtype)));
  }
  at::Tensor key_valid = at::zeros({batch, capacity}, at::kBool);        // (B, S) on CPU while assembling
  at::Tensor ids = at::zeros({batch, pending_width}, at::kLong);          // (B, P)
  at::Tensor positions = at::zeros({batch, pending_width}, at::kLong);    // (B, P)
  std::vector<int64_t> next_position(batch);
  for (int64_t b = 0; b < batch; ++b) {
    Row& row = *decoding[b].row;
    const int64_t cached = row.cached, pending = static_cast<int64_t>(row.tokens.size()) - cached;
    for (int64_t l = 0; l < layers && cached > 0; ++l) {
      cache.k[l][b].narrow(1, cached_width - cached, cached).copy_(row.k[l]);
      cache.v[l][b].narrow(1, cached_width - cached, cached).copy_(row.v[l]);
    }
    key_valid[b].narrow(0, cached_width - cached, cached).fill_(true);
    key_valid[b].narrow(0, prefix_width - pending, pending).fill_(true);
    int64_t* id_data = ids.data_ptr<int64_t>() + b * pending_width;
    int64_t* position_data = positions.data_ptr<int64_t>() + b * pending_width;
    for (int64_t j = 0; j < pending; ++j) {
      id_data[pending_width - pending + j] = row.tokens[cached + j];
      position_data[pending_width - pending + j] = cached + j;
    }
    next_position[b] = cached + pending;
  }
  cache.length = cached_width;
  key_valid = key_valid.to(policy.device);

  // Prefill: pending queries see the real cached keys and, causally, the real pending keys.
  at::Tensor pending_valid = key_valid.narrow(1, cached_width, pending_width);                     // (B, P)
  at::Tensor causal = at::ones({pending_width, pending_width}, options.dtype(at::kBool)).tril();  // (P, P)
  at::Tensor allowed = at::cat({key_valid.narrow(1, 0, cached_width).unsqueeze(1).expand({batch, pending_width, cached_width}),
                                causal.unsqueeze(0) & pending_valid.unsqueeze(1)},
                               2);  // (B, P, C + P)
  at::Tensor hidden = model.hidden_states(ids.to(policy.device), positions.to(policy.device), allowed, &cache,
                                          /*recompute=*/false);
  at::Tensor logits = model.logits(hidden.narrow(1, pending_width - 1, 1).squeeze(1));  // (B, V)

  auto generator = at::detail::createCPUGenerator(params.seed);
  std::vector<int64_t> active(batch);  // batch slot -> index into decoding
  for (int64_t b = 0; b < batch; ++b) active[b] = b;

  while (!active.empty()) {
    SamplingChoice choice =
        sample_tokens(logits, params.temperature, params.top_p, params.top_k, params.vocab_limit, generator);
    at::Tensor tokens = choice.tokens.to(at::kCPU).contiguous();
    at::Tensor logprobs = choice.logprobs.to(at::kCPU).contiguous();
    at::Tensor model_logprobs = choice.model_logprobs.to(at::kCPU).contiguous();
    const int64_t* token_data = tokens.data_ptr<int64_t>();
    const float* logprob_data = logprobs.data_ptr<float>();
    const float* model_logprob_data = model_logprobs.data_ptr<float>();
    std::vector<int64_t> keep_slots;
    for (size_t slot = 0; slot < active.size(); ++slot) {
      Decoding& d = decoding[active[slot]];
      const int64_t token = token_data[slot];
      // Finite logits always give a finite log_softmax: anything else means the weights are not finite.
      if (!std::isfinite(model_logprob_data[slot])) {
        throw std::runtime_error("generation for row " + std::to_string(d.row_id) + " produced non-finite logits " +
                                 "(NaN or infinity) at new token " + std::to_string(d.result.tokens.size()) +
                                 ": the policy's weights or activations overflowed (a diverged training step?)");
      }
      d.result.tokens.push_back(static_cast<int32_t>(token));
      d.result.logprobs.push_back(logprob_data[slot]);
      d.result.model_logprobs.push_back(model_logprob_data[slot]);
      d.row->tokens.push_back(static_cast<int32_t>(token));
      if (eos.count(token)) {
        d.done = true;
        d.result.stop_reason = StopReason::Eos;
      } else if (!params.stop_strings.empty()) {
        const std::string& bytes = token < static_cast<int64_t>(table.size()) ? table[token] : std::string();
        d.new_bytes += bytes;
        for (const std::string& stop : params.stop_strings) {
          // Only a match that ends inside this token's bytes is new.
          const size_t from = d.new_bytes.size() >= bytes.size() + stop.size() - 1
                                  ? d.new_bytes.size() - bytes.size() - stop.size() + 1
                                  : 0;
          if (d.new_bytes.find(stop, from) != std::string::npos) {
            d.done = true;
            d.result.stop_reason = StopReason::Stop;
            d.result.stop_string = stop;
            break;
          }
        }
      }
      if (!d.done && static_cast<int64_t>(d.result.tokens.size()) >= params.max_new_tokens) {
        d.done = true;
        d.result.stop_reason = StopReason::Length;
      }
      if (!d.done) keep_slots.push_back(static_cast<int64_t>(slot));
    }

    // Finished rows leave the batch; their keys go back to the row (the last token stays pending).
    if (keep_slots.size() != active.size()) {
      at::Tensor valid_cpu = key_valid.narrow(1, 0, cache.length).to(at::kCPU);
      for (size_t slot = 0; slot < active.size(); ++slot) {
        Decoding& d = decoding[active[slot]];
        if (!d.done) continue;
        at::Tensor keys = valid_cpu[static_cast<int64_t>(slot)].nonzero().squeeze(1).to(policy.device);  // (cached,)
        for (int64_t l = 0; l < layers; ++l) {
          d.row->k.resize(layers);
          d.row->v.resize(layers);
          d.row->k[l] = cache.k[l][static_cast<int64_t>(slot)].index_select(1, keys);  // (nKV, cached, D)
          d.row->v[l] = cache.v[l][static_cast<int64_t>(slot)].index_select(1, keys);
        }
        d.row->cached = keys.size(0);
      }
      if (keep_slots.empty()) break;
      at::Tensor keep = at::tensor(keep_slots, at::kLong).to(policy.device);
      for (int64_t l = 0; l < layers; ++l) {
        cache.k[l] = cache.k[l].index_select(0, keep);
        cache.v[l] = cache.v[l].index_select(0, keep);
      }
      key_valid = key_valid.index_select(0, keep);
      logits = logits.index_select(0, keep);
      tokens = tokens.index_select(0, at::tensor(keep_slots, at::kLong));
      std::vector<int64_t> still_active;
      for (int64_t slot : keep_slots) still_active.push_back(active[slot]);
      active = std::move(still_active);
    }

    // Decode one step for the rows still active.
    const auto live = static_cast<int64_t>(active.size());
    at::Tensor step_positions = at::empty({live, 1}, at::kLong);
    int64_t* position_data = step_positions.data_ptr<int64_t>();
    for (int64_t slot = 0; slot < live; ++slot) position_data[slot] = next_position[active[slot]]++;
    key_valid.narrow(1, cache.length, 1).fill_(true);
    at::Tensor step_allowed = key_valid.narrow(1, 0, cache.length + 1).unsqueeze(1);  // (B, 1, S)
    hidden = model.hidden_states(tokens.view({live, 1}).to(policy.device), step_positions.to(policy.device),
                                 step_allowed, &cache, /*recompute=*/false);
    logits = model.logits(hidden.squeeze(1));  // (B, V)
  }

  std::vector<GeneratedRow> results;
  for (Decoding& d : decoding) {
    d.result.row = d.row_id;
    results.push_back(std::move(d.result));
  }
  return results;
}

}  // namespace rexrag
