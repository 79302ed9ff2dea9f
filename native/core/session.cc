// Implements session.h. Every row keeps its keys and values in the session's paged cache (kv_pages.h); a
// generate() call packs each row's uncached tokens into one prefill, then decodes one token per active row per
// step, all through packed_forward: rows of any lengths share a batch without padding, and a finished row simply
// stops being fed. The last token of a row is never cached (it is the next step's input), so every row always
// has at least one uncached token to produce its next logits.
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
#include "core/kv_pages.h"
#include "core/packed_decoder.h"
#include "core/policy_state.h"
#include "core/sampling.h"

namespace rexrag {
namespace {

struct Row {
  std::vector<int32_t> tokens;
  int64_t cached = 0;          // tokens[0, cached) have keys and values in the session's pages
  std::vector<int32_t> pages;  // page table into the session's KVPages (may share a parent's full pages)
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
  std::map<int64_t, Row> rows;  // a map: page-table addresses stay put while rows come and go
  std::unique_ptr<KVPages> pages;  // made by the first generate(), in the generation model's dtype
  int64_t next_id = 0;

  KVPages& pages_for(const Qwen2ForCausalLMImpl& model, const at::Device& device, at::ScalarType dtype) {
    if (!pages) {
      const Qwen2Config& config = model.config;
      pages = std::make_unique<KVPages>(config.num_hidden_layers, config.num_key_value_heads, config.head_dim(),
                                        at::TensorOptions().device(device).dtype(dtype));
    }
    return *pages;
  }

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

int64_t GenerationSession::cache_bytes() const { return state_->pages ? state_->pages->bytes_in_use() : 0; }

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
  if (copy.cached > 0) copy.pages = state_->pages->share_prefix(source.pages, copy.cached);
  state_->rows.emplace(state_->next_id, std::move(copy));
  return state_->next_id++;
}

std::vector<int32_t> GenerationSession::tokens(int64_t id) const {
  return const_cast<State&>(*state_).row(id).tokens;
}

void GenerationSession::release(int64_t id) {
  Row& row = state_->row(id);
  if (state_->pages) state_->pages->release(row.pages);
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
  KVPages& pages = state_->pages_for(model, policy.device, policy.generation_dtype);

  std::vector<Decoding> decoding;
  for (int64_t id : row_ids) decoding.push_back({id, &state_->row(id), {}, {}, false});
  const auto batch = static_cast<int64_t>(decoding.size());

  // Prefill: every row's uncached tokens in one packed pass; each row's logits come from its last token.
  PackedTokens packed;
  std::vector<int64_t> outputs;
  for (Decoding& d : decoding) {
    Row& row = *d.row;
    const auto length = static_cast<int64_t>(row.tokens.size());
    pages.reserve(row.pages, length);
    // A row always has an uncached last token, unless an earlier call failed after caching it: feed it again.
    for (int64_t position = std::min(row.cached, length - 1); position < length; ++position) {
      packed.add(row.tokens[position], position, row.pages);
    }
    outputs.push_back(packed.size() - 1);
  }
  at::Tensor logits = model.logits(packed_forward(model, packed, outputs, pages));  // (B, V)
  for (Decoding& d : decoding) d.row->cached = static_cast<int64_t>(d.row->tokens.size());

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

    // Finished rows leave the batch; their keys are already in their pages (the last token stays uncached).
    if (keep_slots.empty()) break;
    if (keep_slots.size() != active.size()) {
      logits = logits.index_select(0, at::tensor(keep_slots, at::kLong).to(logits.device()));
      std::vector<int64_t> still_active;
      for (int64_t slot : keep_slots) still_active.push_back(active[slot]);
      active = std::move(still_active);
    }

    // Decode one step: each active row's newest token, at the next position of its own cache.
    packed = PackedTokens();
    outputs.clear();
    for (int64_t index : active) {
      Row& row = *decoding[index].row;
      const int64_t position = static_cast<int64_t>(row.tokens.size()) - 1;
      pages.reserve(row.pages, position + 1);
      packed.add(row.tokens[position], position, row.pages);
      outputs.push_back(packed.size() - 1);
    }
    logits = model.logits(packed_forward(model, packed, outputs, pages));
    for (int64_t index : active) decoding[index].row->cached = static_cast<int64_t>(decoding[index].row->tokens.size());
  }

  std::vector<GeneratedRow> results;
  for (Decoding& d : decoding) {
    d.result.row = d.row_id;
    results.push_back(std::move(d.result));
  }
  return results;
}

}  // namespace rexrag
