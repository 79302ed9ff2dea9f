// Implements trainer.h. A step is a short sequence of stages, each a function below: check the batch, order
// its rows into mini-batches, and per mini-batch accumulate the loss's gradients over micro-batches (with
// reference log-probs when the KL needs them), measure and clip the gradient norm, and apply AdamW.
#include "core/trainer.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <tuple>

#include "core/autocast.h"
#include "core/errors.h"
#include "core/optimizer.h"
#include "core/policy_loss.h"
#include "core/policy_state.h"
#include "core/process_group.h"
#include "core/token_logprobs.h"
#include "core/weights_io.h"

namespace rexrag {
namespace {

/// Each row's offset into the per-token arrays, after checking every array's size, the token ids and that no
/// row's first token is in the loss mask.
std::vector<int64_t> row_starts(const TrainBatch& batch, int64_t vocab) {
  const auto rows = static_cast<int64_t>(batch.lengths.size());
  require(rows >= 1, "the batch has no rows");
  std::vector<int64_t> starts(rows);
  int64_t total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    require(batch.lengths[r] >= 1, "every row needs at least one token");
    starts[r] = total;
    total += batch.lengths[r];
  }
  auto check_size = [&](size_t size, const char* name) {
    require(static_cast<int64_t>(size) == total, std::string(name) + " has " + std::to_string(size) +
                                                     " values but the rows hold " + std::to_string(total) + " tokens");
  };
  check_size(batch.ids.size(), "ids");
  check_size(batch.loss_mask.size(), "lossMask");
  if (!batch.behaviour_logps.empty()) check_size(batch.behaviour_logps.size(), "behaviourLogps");
  check_size(batch.advantages.size(), "advantages");
  if (!batch.ref_logps.empty()) check_size(batch.ref_logps.size(), "refLogps");
  if (!batch.token_kinds.empty()) {
    check_size(batch.token_kinds.size(), "tokenKinds");
    for (uint8_t kind : batch.token_kinds) {
      require(kind < std::size(kTokenKindNames), "token kind " + std::to_string(kind) + " is not a known kind");
    }
  }
  for (int64_t i = 0; i < total; ++i) {
    require(batch.ids[i] >= 0 && batch.ids[i] < vocab, "token id " + std::to_string(batch.ids[i]) +
                                                            " is outside the vocabulary");
  }
  for (int64_t r = 0; r < rows; ++r) {
    require(batch.loss_mask[starts[r]] == 0, "row " + std::to_string(r) +
                                                 ": the first token has no prefix and cannot be in the loss mask");
  }
  return starts;
}

/// Rows of one epoch in training order: as given, or a permutation seeded by (seed, training step, epoch).
std::vector<int64_t> epoch_order(int64_t rows, const StepOptions& options, int64_t step, int64_t epoch) {
  std::vector<int64_t> order(rows);
  std::iota(order.begin(), order.end(), 0);
  if (!options.shuffle) return order;
  auto generator = at::detail::createCPUGenerator(options.seed + 1000003ULL * step + epoch);
  at::Tensor permutation = at::randperm(rows, generator, at::TensorOptions().dtype(at::kLong));
  for (int64_t r = 0; r < rows; ++r) order[r] = permutation[r].item<int64_t>();
  return order;
}

/// A mini-batch: positions [begin, end) of the local order, and its loss-token totals (the global batch's, once
/// reduced over the ranks).
struct MiniBatch {
  int64_t begin = 0, end = 0;
  LossNormaliser normaliser;
};

/// An epoch's mini-batches over this rank's rows: `order` holds the local rows in the global epoch order.
struct EpochPlan {
  std::vector<int64_t> order;
  std::vector<MiniBatch> minis;
};

/// Splits the global epoch order into mini-batches of `size` global rows, the last one short (verl's
/// ppo_mini_batch_size); size 0: one mini-batch of every row. Each mini-batch keeps the local rows that fall in
/// it (`local_of[global row]`, −1 for another rank's), so every rank walks the same mini-batches.
EpochPlan plan_epoch(const TrainBatch& batch, const std::vector<int64_t>& starts,
                     const std::vector<int64_t>& global_order, const std::vector<int64_t>& local_of, int64_t size) {
  const auto rows = static_cast<int64_t>(global_order.size());
  const int64_t per_mini = size > 0 ? size : std::max<int64_t>(rows, 1);
  EpochPlan plan;
  for (int64_t begin = 0; begin < rows; begin += per_mini) {
    MiniBatch mini;
    mini.begin = static_cast<int64_t>(plan.order.size());
    for (int64_t k = begin; k < std::min(rows, begin + per_mini); ++k) {
      const int64_t r = local_of[global_order[k]];
      if (r < 0) continue;
      plan.order.push_back(r);
      double row_tokens = 0;
      for (int64_t t = 0; t < batch.lengths[r]; ++t) row_tokens += batch.loss_mask[starts[r] + t] != 0;
      mini.normaliser.tokens += row_tokens;
      mini.normaliser.rows += row_tokens > 0;
    }
    mini.end = static_cast<int64_t>(plan.order.size());
    plan.minis.push_back(mini);
  }
  return plan;
}

/// Global row → local row (−1: another rank's), after checking the batch's global indices.
std::vector<int64_t> local_rows_of(const TrainBatch& batch, int64_t local_rows, bool distributed) {
  if (!distributed) {
    require(batch.global_index.empty() && batch.global_rows == 0,
            "globalIndex / globalRows describe a rank's share of a batch and need a process group");
    std::vector<int64_t> identity(local_rows);
    std::iota(identity.begin(), identity.end(), 0);
    return identity;
  }
  require(static_cast<int64_t>(batch.global_index.size()) == local_rows,
          "globalIndex must give the global row of each of the " + std::to_string(local_rows) + " rows");
  std::vector<int64_t> local_of(batch.global_rows, -1);
  for (int64_t r = 0; r < local_rows; ++r) {
    const int64_t g = batch.global_index[r];
    require(g >= 0 && g < batch.global_rows && (r == 0 || g > batch.global_index[r - 1]),
            "globalIndex must be ascending and within [0, globalRows)");
    local_of[g] = r;
  }
  return local_of;
}

/// End of the micro-batch that starts at order position `begin`: it grows while its padded size fits the token
/// budget, and always holds at least one row.
int64_t micro_batch_end(const TrainBatch& batch, const std::vector<int64_t>& order, int64_t begin, int64_t end,
                        int64_t budget) {
  int64_t micro_end = begin + 1, width = batch.lengths[order[begin]];
  while (micro_end < end && std::max(width, batch.lengths[order[micro_end]]) * (micro_end - begin + 1) <= budget) {
    width = std::max(width, batch.lengths[order[micro_end]]);
    ++micro_end;
  }
  return micro_end;
}

/// Rows [begin, end) of the order, right-padded, and where their loss tokens are.
struct MicroBatch {
  at::Tensor ids, valid;                  // (B, T) on the CPU
  std::vector<int64_t> batch_index, position;  // loss token: row b, position t (hidden state t−1 predicts it)
  std::vector<int64_t> flat;              // its index into the batch's per-token arrays
  int64_t rows = 0;
};

MicroBatch pack_micro_batch(const TrainBatch& batch, const std::vector<int64_t>& starts,
                            const std::vector<int64_t>& order, int64_t begin, int64_t end) {
  MicroBatch micro;
  micro.rows = end - begin;
  int64_t width = 0;
  for (int64_t k = begin; k < end; ++k) width = std::max(width, batch.lengths[order[k]]);
  micro.ids = at::zeros({micro.rows, width}, at::kLong);     // (B, T) right-padded
  micro.valid = at::zeros({micro.rows, width}, at::kBool);  // (B, T)
  for (int64_t b = 0; b < micro.rows; ++b) {
    const int64_t r = order[begin + b];
    for (int64_t t = 0; t < batch.lengths[r]; ++t) {
      micro.ids.data_ptr<int64_t>()[b * width + t] = batch.ids[starts[r] + t];
      micro.valid.data_ptr<bool>()[b * width + t] = true;
      if (batch.loss_mask[starts[r] + t] != 0) {
        micro.batch_index.push_back(b);
        micro.position.push_back(t);
        micro.flat.push_back(starts[r] + t);
      }
    }
  }
  return micro;
}

/// A micro-batch's model inputs on the device, and the hidden-state rows that predict its loss tokens.
struct DeviceInputs {
  at::Tensor ids, positions, key_mask;  // (B, T)
  at::Tensor batch_index, position;     // (N,)
  at::Tensor targets;                   // (N,)
};

DeviceInputs to_device(const MicroBatch& micro, at::Device device) {
  DeviceInputs in;
  in.batch_index = at::tensor(micro.batch_index, at::kLong).to(device);
  in.position = at::tensor(micro.position, at::kLong).to(device);
  in.ids = micro.ids.to(device);
  at::Tensor valid = micro.valid.to(device);
  in.positions = positions_from_mask(valid);
  in.key_mask = causal_key_mask(valid);
  in.targets = in.ids.index({in.batch_index, in.position});  // (N,)
  return in;
}

/// Log-probs (and entropies) of the loss tokens under `model`: hidden states (each layer recomputed in the
/// backward pass with `recompute`), then the chunked LM-head kernel.
std::pair<at::Tensor, at::Tensor> loss_token_logprobs(Qwen2ForCausalLMImpl& model, const DeviceInputs& in,
                                                      int64_t logit_chunk, double temperature, bool with_entropy,
                                                      bool recompute) {
  at::Tensor hidden = model.hidden_states(in.ids, in.positions, in.key_mask, recompute);  // (B, T, H)
  at::Tensor predicting = hidden.index({in.batch_index, in.position - 1});               // (N, H)
  return token_logprobs(predicting, model.lm_head_weight(), in.targets, logit_chunk, temperature, with_entropy);
}

/// Running totals of a step, reduced to StepMetrics at its end.
struct StepTotals {
  LossSums sums;
  double loss = 0;       // Σ mini-batch loss × its loss tokens
  double grad_norm = 0;  // Σ over updates
  StepMetrics counters;  // updates, skipped_updates, micro_batches, grad_norm_max, lr
  std::vector<KindSums> kinds;  // per token kind, when the batch has token kinds
};

/// Sums (and maxima / minima) of every rank's totals, so the metrics are the global batch's.
void all_reduce_totals(ProcessGroup& group, StepTotals& totals) {
  const size_t kinds = std::size(kTokenKindNames);
  totals.kinds.resize(kinds);  // every rank reports the kinds when any rank's batch has them (see below)
  LossSums& l = totals.sums;
  std::vector<double*> sums = {&l.tokens, &l.pg, &l.kl, &l.entropy, &l.clipped_high, &l.clipped_low, &l.approx_kl,
                               &l.ratio, &l.neg_logp, &totals.loss, &totals.counters.micro_batches};
  std::vector<double*> maxima = {&l.ratio_max}, minima;
  for (KindSums& k : totals.kinds) {
    for (double* v : {&k.tokens, &k.ratio, &k.clipped_high, &k.clipped_low, &k.approx_kl, &k.kl_k3, &k.advantage}) {
      sums.push_back(v);
    }
    maxima.push_back(&k.ratio_max);
    minima.push_back(&k.ratio_min);
  }
  for (auto [pointers, op] : {std::pair{&sums, ReduceOp::Sum}, std::pair{&maxima, ReduceOp::Max},
                              std::pair{&minima, ReduceOp::Min}}) {
    std::vector<double> values;
    for (double* v : *pointers) values.push_back(*v);
    group.all_reduce(values, op);
    for (size_t i = 0; i < values.size(); ++i) *(*pointers)[i] = values[i];
  }
}

StepMetrics reduce_metrics(const StepTotals& totals) {
  StepMetrics metrics = totals.counters;
  loss_means(totals.sums, metrics);
  metrics.loss = totals.sums.tokens > 0 ? totals.loss / totals.sums.tokens : 0;
  metrics.grad_norm = metrics.updates > 0 ? totals.grad_norm / metrics.updates : 0;
  for (const KindSums& kind : totals.kinds) metrics.kinds.push_back(kind_means(kind));
  return metrics;
}

}  // namespace

struct Trainer::State {
  std::shared_ptr<Policy> policy;
  std::shared_ptr<Policy> reference;
  LossConfig loss;
  OptimizerOptions optimizer;
  std::vector<std::pair<std::string, at::Tensor>> parameters;
  std::map<std::string, at::Tensor> exp_avg, exp_avg_sq;
  int64_t updates = 0;  // AdamW's step count
  int64_t steps = 0;    // training steps (the schedule's clock)
  std::shared_ptr<ProcessGroup> group;  // data parallel when set

  /// The frozen reference's log-probs of a micro-batch's loss tokens.
  at::Tensor reference_logps(const DeviceInputs& in, int64_t logit_chunk) {
    torch::NoGradGuard no_grad;
    return loss_token_logprobs(*reference->state().model, in, logit_chunk, loss.temperature, /*with_entropy=*/false,
                               /*recompute=*/false)
        .first;
  }

  /// Forward and backward over the mini-batch's micro-batches, accumulating parameter gradients and metric sums.
  /// Returns false when a micro-batch's loss is not finite (its backward pass is skipped).
  bool accumulate_gradients(const TrainBatch& batch, const std::vector<int64_t>& starts,
                            const std::vector<int64_t>& order, const MiniBatch& mini, const StepOptions& options,
                            StepTotals& totals) {
    PolicyState& state = policy->state();
    const bool on_policy = batch.behaviour_logps.empty();  // behaviour = the current policy itself (ratio 1)
    bool finite = true;
    for (int64_t begin = mini.begin; begin < mini.end;) {
      const int64_t end = micro_batch_end(batch, order, begin, mini.end, options.micro_batch_tokens);
      MicroBatch micro = pack_micro_batch(batch, starts, order, begin, end);
      const int64_t first = begin;
      begin = end;
      totals.counters.micro_batches += 1;
      if (micro.flat.empty()) continue;
      at::Tensor flat = at::tensor(micro.flat, at::kLong);
      DeviceInputs in = to_device(micro, state.device);
      auto select = [&](const std::vector<float>& values) {
        return at::from_blob(const_cast<float*>(values.data()), {static_cast<int64_t>(values.size())}, at::kFloat)
            .index_select(0, flat)
            .to(state.device);
      };
      LossInputs inputs;
      {
        // The policy's forward pass under the step's autocast; the loss below and the backward pass run outside
        // it, as with torch.autocast (backward ops take the dtypes the forward pass saved).
        AutocastScope autocast(state.device.type(), {options.autocast == Autocast::BFloat16, at::kBFloat16});
        std::tie(inputs.logp, inputs.entropy) = loss_token_logprobs(
            *state.model, in, options.logit_chunk, loss.temperature, /*with_entropy=*/true, options.recompute);
      }
      inputs.behaviour = on_policy ? inputs.logp.detach() : select(batch.behaviour_logps);
      inputs.advantages = select(batch.advantages);
      inputs.row = in.batch_index;
      inputs.rows = micro.rows;
      if (!batch.sequence_ratio.empty()) {
        std::vector<uint8_t> flags(micro.rows);
        for (int64_t b = 0; b < micro.rows; ++b) flags[b] = batch.sequence_ratio[order[first + b]];
        at::Tensor per_row = at::tensor(std::vector<int64_t>(flags.begin(), flags.end()), at::kLong).to(state.device);
        inputs.sequence = per_row.index_select(0, in.batch_index).to(at::kBool);  // (N,)
      }
      if (loss.kl_type != KlType::None) {
        inputs.ref = batch.ref_logps.empty() ? reference_logps(in, options.logit_chunk) : select(batch.ref_logps);
      }
      LossOutput output = policy_loss(inputs, loss, mini.normaliser);
      const double loss_value = output.loss.item<double>();
      if (!std::isfinite(loss_value)) {
        finite = false;
        continue;
      }
      output.loss.backward();
      totals.loss += loss_value * mini.normaliser.tokens;  // token-weighted, to average over mini-batches
      totals.sums.add(output.sums);
      if (!totals.kinds.empty()) {
        std::vector<int64_t> kinds(micro.flat.size());
        for (size_t i = 0; i < kinds.size(); ++i) kinds[i] = batch.token_kinds[micro.flat[i]];
        add_kind_sums(at::tensor(kinds, at::kLong).to(state.device), inputs, output, totals.kinds);
      }
    }
    return finite;
  }

  /// Sums every parameter's gradient over the ranks, flattened into buckets of at most kBucketElements values
  /// (one collective per bucket rather than per tensor). Each rank's loss is already divided by the global
  /// batch's token count, so the sum is the global batch's gradient. Returns whether every rank's losses were
  /// finite.
  bool all_reduce_gradients(bool finite) {
    constexpr int64_t kBucketElements = int64_t{1} << 23;
    std::vector<double> nonfinite{finite ? 0.0 : 1.0};
    group->all_reduce(nonfinite, ReduceOp::Sum);
    std::vector<at::Tensor> grads;
    for (auto& [name, parameter] : parameters) {
      if (!parameter.grad().defined()) parameter.mutable_grad() = at::zeros_like(parameter);
      grads.push_back(parameter.grad());
    }
    for (size_t first = 0; first < grads.size();) {
      size_t last = first;
      int64_t elements = 0;
      while (last < grads.size() && (last == first || elements + grads[last].numel() <= kBucketElements)) {
        elements += grads[last++].numel();
      }
      at::Tensor bucket = at::empty({elements}, grads[first].options().dtype(at::kFloat));  // (E,)
      int64_t offset = 0;
      for (size_t i = first; i < last; ++i) {
        bucket.narrow(0, offset, grads[i].numel()).copy_(grads[i].reshape(-1));
        offset += grads[i].numel();
      }
      group->all_reduce(bucket, ReduceOp::Sum);
      offset = 0;
      for (size_t i = first; i < last; ++i) {
        grads[i].copy_(bucket.narrow(0, offset, grads[i].numel()).view(grads[i].sizes()));
        offset += grads[i].numel();
      }
      first = last;
    }
    return nonfinite[0] == 0;
  }

  /// The L2 norm of every parameter's gradient together.
  double gradient_norm() const {
    double squared = 0;
    for (const auto& [name, parameter] : parameters) {
      if (parameter.grad().defined()) squared += squared_norm(parameter.grad());
    }
    return std::sqrt(squared);
  }

  /// Scales the gradients to max_grad_norm when they are longer (no clipping when it is <= 0), then one AdamW
  /// update of every parameter at learning rate `lr`.
  void clip_and_update(double grad_norm, double lr) {
    const double max_norm = optimizer.max_grad_norm;
    const double scale = max_norm > 0 && grad_norm > max_norm ? max_norm / (grad_norm + 1e-6) : 1.0;
    updates += 1;
    for (auto& [name, parameter] : parameters) {
      adamw_update(parameter, parameter.grad(), scale, exp_avg[name], exp_avg_sq[name], updates, optimizer, lr);
    }
    policy->state().version += 1;
  }

  void clear_gradients() {
    for (auto& [name, parameter] : parameters) parameter.mutable_grad() = at::Tensor();
  }
};

Trainer::Trainer(std::shared_ptr<Policy> policy, const LossConfig& loss, const OptimizerOptions& optimizer,
                 bool keep_reference)
    : state_(std::make_unique<State>()) {
  state_->loss = loss;
  state_->optimizer = optimizer;
  state_->policy = std::move(policy);
  if (keep_reference) state_->reference = state_->policy->frozen_copy();
  for (auto& item : state_->policy->state().model->named_parameters()) {
    item.value().set_requires_grad(true);
    state_->parameters.emplace_back(item.key(), item.value());
    state_->exp_avg[item.key()] = at::zeros(item.value().sizes(), item.value().options().dtype(at::kFloat));
    state_->exp_avg_sq[item.key()] = at::zeros(item.value().sizes(), item.value().options().dtype(at::kFloat));
  }
}

Trainer::~Trainer() = default;

int64_t Trainer::steps_done() const { return state_->steps; }
bool Trainer::has_reference() const { return state_->reference != nullptr; }
double Trainer::lr_at(int64_t step) const { return scheduled_lr(state_->optimizer, step); }

Policy::ScoreResult Trainer::reference_score(const Policy::ScoreRequest& request) {
  require(state_->reference != nullptr, "this trainer keeps no reference model");
  return state_->reference->score(request);
}

StepMetrics Trainer::step(const TrainBatch& batch, const StepOptions& options) {
  require(options.mini_batch_size >= 0 && options.epochs >= 1, "miniBatchSize must be >= 0 and epochs >= 1");
  require(batch.sequence_ratio.empty() || batch.sequence_ratio.size() == batch.lengths.size(),
          "sequenceRatio must have one flag per row");
  require(options.micro_batch_tokens >= 1 && options.logit_chunk >= 1, "microBatchTokens and logitChunk must be >= 1");
  require(options.autocast == Autocast::Off || state_->policy->state().dtype == at::kFloat,
          "autocast: 'bfloat16' trains float32 master weights and needs a policy whose dtype is float32");
  const std::vector<int64_t> starts = row_starts(batch, state_->policy->config().vocab_size);
  require(!batch.ref_logps.empty() || state_->loss.kl_type == KlType::None || state_->reference != nullptr,
          "refLogps were not given and this trainer keeps no reference model");
  ProcessGroup* group = state_->group.get();
  const auto local_rows = static_cast<int64_t>(starts.size());
  const std::vector<int64_t> local_of = local_rows_of(batch, local_rows, group != nullptr);
  const int64_t global_rows = group != nullptr ? batch.global_rows : local_rows;
  StepTotals totals;
  if (!batch.token_kinds.empty()) totals.kinds.resize(std::size(kTokenKindNames));
  const double lr = lr_at(state_->steps);
  totals.counters.lr = lr;
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    const std::vector<int64_t> global_order = epoch_order(global_rows, options, state_->steps, epoch);
    EpochPlan plan = plan_epoch(batch, starts, global_order, local_of, options.mini_batch_size);
    if (group != nullptr) {  // every mini-batch's loss is normalised by the global batch's totals
      std::vector<double> normalisers;
      for (const MiniBatch& mini : plan.minis) {
        normalisers.push_back(mini.normaliser.tokens);
        normalisers.push_back(mini.normaliser.rows);
      }
      group->all_reduce(normalisers, ReduceOp::Sum);
      for (size_t m = 0; m < plan.minis.size(); ++m) {
        plan.minis[m].normaliser.tokens = normalisers[2 * m];
        plan.minis[m].normaliser.rows = normalisers[2 * m + 1];
      }
    }
    for (const MiniBatch& mini : plan.minis) {
      if (mini.normaliser.tokens == 0) continue;  // nothing to learn from in this mini-batch
      state_->clear_gradients();
      bool finite = state_->accumulate_gradients(batch, starts, plan.order, mini, options, totals);
      torch::NoGradGuard no_grad;
      if (group != nullptr) finite = state_->all_reduce_gradients(finite);
      const double grad_norm = state_->gradient_norm();
      if (!finite || !std::isfinite(grad_norm)) {
        totals.counters.skipped_updates += 1;
        continue;
      }
      state_->clip_and_update(grad_norm, lr);
      totals.counters.updates += 1;
      totals.grad_norm += grad_norm;
      totals.counters.grad_norm_max = std::max(totals.counters.grad_norm_max, grad_norm);
    }
  }
  state_->clear_gradients();
  state_->steps += 1;
  if (group != nullptr) {
    // Kinds are reported when any rank's batch has them; a rank without rows of a kind adds zeros.
    std::vector<double> has_kinds{totals.kinds.empty() ? 0.0 : 1.0};
    group->all_reduce(has_kinds, ReduceOp::Max);
    all_reduce_totals(*group, totals);
    if (has_kinds[0] == 0) totals.kinds.clear();
  }
  return reduce_metrics(totals);
}

void Trainer::set_process_group(std::shared_ptr<ProcessGroup> group) {
  require(group != nullptr, "the process group is null");
  torch::NoGradGuard no_grad;
  for (auto& [name, parameter] : state_->parameters) {
    at::Tensor values = parameter.detach();
    group->broadcast(values, 0);
  }
  if (state_->reference) {
    for (auto& item : state_->reference->state().model->named_parameters()) {
      at::Tensor values = item.value().detach();
      group->broadcast(values, 0);
    }
  }
  state_->group = std::move(group);
}

void Trainer::save_state(const std::string& path) const {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, tensor] : state_->exp_avg) tensors.emplace_back("exp_avg." + name, tensor);
  for (const auto& [name, tensor] : state_->exp_avg_sq) tensors.emplace_back("exp_avg_sq." + name, tensor);
  tensors.emplace_back("trainer.updates", at::tensor({state_->updates}, at::kLong));
  tensors.emplace_back("trainer.steps", at::tensor({state_->steps}, at::kLong));
  write_safetensors(path, tensors, {{"format", "rexrag-trainer"}});
}

void Trainer::load_state(const std::vector<WeightFile>& files) {
  std::map<std::string, at::Tensor> loaded = read_weight_files(files, at::kFloat, at::Device(at::kCPU));
  std::vector<std::pair<std::string, at::Tensor>> expected;
  for (const auto& [name, tensor] : state_->exp_avg) expected.emplace_back("exp_avg." + name, tensor);
  for (const auto& [name, tensor] : state_->exp_avg_sq) expected.emplace_back("exp_avg_sq." + name, tensor);
  for (const char* counter : {"trainer.updates", "trainer.steps"}) expected.emplace_back(counter, at::zeros({1}));
  match_tensors(loaded, expected, "trainer state does not match this policy");
  for (auto& [name, tensor] : state_->exp_avg) tensor.copy_(loaded.at("exp_avg." + name));
  for (auto& [name, tensor] : state_->exp_avg_sq) tensor.copy_(loaded.at("exp_avg_sq." + name));
  state_->updates = loaded.at("trainer.updates").item<int64_t>();
  state_->steps = loaded.at("trainer.steps").item<int64_t>();
}

void Trainer::save_reference(const std::string& path) const {
  require(state_->reference != nullptr, "this trainer keeps no reference model");
  state_->reference->save(path, "float32");
}

void Trainer::load_reference(const std::vector<WeightFile>& files) {
  require(state_->reference != nullptr, "this trainer keeps no reference model");
  state_->reference->load_weights(files);
}

}  // namespace rexrag
