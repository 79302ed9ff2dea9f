// Implements trainer.h.
#include "core/trainer.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/errors.h"
#include "core/policy_loss.h"
#include "core/policy_state.h"
#include "core/token_logprobs.h"
#include "core/weights_io.h"

namespace rexrag {
namespace {

constexpr double kPi = 3.14159265358979323846;

LossConfig to_loss_config(const TrainerLossOptions& options) {
  LossConfig config;
  config.clip_low = options.clip_low;
  config.clip_high = options.clip_high;
  config.dual_clip = options.dual_clip;
  config.kl_type = parse_kl_type(options.kl_type);
  config.kl_coef = options.kl_coef;
  config.entropy_coef = options.entropy_coef;
  config.aggregation = parse_aggregation(options.aggregation);
  config.validate();
  return config;
}

void validate_optimizer(const OptimizerOptions& o) {
  require(o.lr >= 0, "lr must be >= 0");
  require(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, "betas must be in [0, 1)");
  require(o.eps > 0, "eps must be > 0");
  require(o.weight_decay >= 0, "weightDecay must be >= 0");
  require(o.schedule == "constant" || o.schedule == "cosine", "schedule must be constant or cosine, got \"" +
                                                                  o.schedule + "\"");
  require(o.warmup_steps >= 0, "warmupSteps must be >= 0");
  require(o.schedule != "cosine" || o.total_steps > o.warmup_steps, "cosine schedule needs totalSteps > warmupSteps");
}

/// torch.optim.AdamW for one tensor (no amsgrad): decoupled decay, then the bias-corrected Adam step.
void adamw_tensor(at::Tensor& param, const at::Tensor& grad, at::Tensor& exp_avg, at::Tensor& exp_avg_sq,
                  int64_t step, const OptimizerOptions& o, double lr) {
  param.mul_(1.0 - lr * o.weight_decay);
  exp_avg.mul_(o.beta1).add_(grad, 1.0 - o.beta1);
  exp_avg_sq.mul_(o.beta2).addcmul_(grad, grad, 1.0 - o.beta2);
  const double bias1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
  const double bias2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
  at::Tensor denom = (exp_avg_sq.sqrt() / std::sqrt(bias2)).add_(o.eps);
  param.addcdiv_(exp_avg, denom, -lr / bias1);
}

/// Loss-token layout of a set of rows: which positions are trained and where their values come from.
struct Selection {
  at::Tensor batch_index, position;  // (N,) position t of the trained token; hidden state t−1 predicts it
  at::Tensor flat_index;             // (N,) index into the batch's per-token arrays
  at::Tensor row;                    // (N,) row within the micro-batch
};

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
};

Trainer::Trainer(std::shared_ptr<Policy> policy, const TrainerLossOptions& loss, const OptimizerOptions& optimizer,
                 bool keep_reference)
    : state_(std::make_unique<State>()) {
  validate_optimizer(optimizer);
  state_->loss = to_loss_config(loss);
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

double Trainer::lr_at(int64_t step) const {
  const OptimizerOptions& o = state_->optimizer;
  // verl / HF convention: during warmup the factor is step / warmup, so step 0 has lr 0.
  if (step < o.warmup_steps) return o.lr * static_cast<double>(step) / static_cast<double>(o.warmup_steps);
  if (o.schedule == "constant") return o.lr;
  double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) /
                                      static_cast<double>(o.total_steps - o.warmup_steps));
  double cosine = 0.5 * (1.0 + std::cos(kPi * progress));
  return o.lr * (o.min_lr_ratio + (1.0 - o.min_lr_ratio) * cosine);
}

Policy::ScoreResult Trainer::reference_score(const Policy::ScoreRequest& request) {
  require(state_->reference != nullptr, "this trainer keeps no reference model");
  return state_->reference->score(request);
}

StepMetrics Trainer::step(const TrainBatch& batch, const StepOptions& options) {
  require(options.mini_batches >= 1 && options.epochs >= 1, "miniBatches and epochs must be >= 1");
  require(options.micro_batch_tokens >= 1 && options.logit_chunk >= 1, "microBatchTokens and logitChunk must be >= 1");
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
  const bool on_policy = batch.behaviour_logps.empty();  // behaviour = the current policy itself (ratio 1)
  if (!on_policy) check_size(batch.behaviour_logps.size(), "behaviourLogps");
  check_size(batch.advantages.size(), "advantages");
  const bool given_ref = !batch.ref_logps.empty();
  if (given_ref) check_size(batch.ref_logps.size(), "refLogps");
  require(given_ref || state_->loss.kl_type == KlType::None || state_->reference != nullptr,
          "refLogps were not given and this trainer keeps no reference model");
  const int64_t vocab = state_->policy->config().vocab_size;
  for (int64_t i = 0; i < total; ++i) {
    require(batch.ids[i] >= 0 && batch.ids[i] < vocab, "token id " + std::to_string(batch.ids[i]) +
                                                            " is outside the vocabulary");
  }
  for (int64_t r = 0; r < rows; ++r) {
    require(batch.loss_mask[starts[r]] == 0, "row " + std::to_string(r) +
                                                 ": the first token has no prefix and cannot be in the loss mask");
  }

  PolicyState& policy = state_->policy->state();
  Qwen2ForCausalLMImpl& model = *policy.model;
  const at::Device device = policy.device;
  const double lr = lr_at(state_->steps);
  StepMetrics metrics;
  metrics.lr = lr;
  LossSums sums;
  double loss_total = 0, grad_norm_total = 0;

  std::vector<int64_t> order(rows);
  std::iota(order.begin(), order.end(), 0);
  auto cpu_floats = [](const std::vector<float>& values) {
    return at::from_blob(const_cast<float*>(values.data()), {static_cast<int64_t>(values.size())}, at::kFloat);
  };
  at::Tensor behaviour_all = on_policy ? at::Tensor() : cpu_floats(batch.behaviour_logps);
  at::Tensor advantages_all = cpu_floats(batch.advantages);
  at::Tensor ref_all = given_ref ? cpu_floats(batch.ref_logps) : at::Tensor();

  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    if (options.shuffle) {
      auto generator = at::detail::createCPUGenerator(options.seed + 1000003ULL * state_->steps + epoch);
      at::Tensor permutation = at::randperm(rows, generator, at::TensorOptions().dtype(at::kLong));
      for (int64_t r = 0; r < rows; ++r) order[r] = permutation[r].item<int64_t>();
    }
    const int64_t per_mini = (rows + options.mini_batches - 1) / options.mini_batches;
    for (int64_t mini_start = 0; mini_start < rows; mini_start += per_mini) {
      const int64_t mini_end = std::min(rows, mini_start + per_mini);
      LossNormaliser normaliser;
      for (int64_t k = mini_start; k < mini_end; ++k) {
        const int64_t r = order[k];
        double row_tokens = 0;
        for (int64_t t = 0; t < batch.lengths[r]; ++t) row_tokens += batch.loss_mask[starts[r] + t] != 0;
        normaliser.tokens += row_tokens;
        normaliser.rows += row_tokens > 0;
      }
      if (normaliser.tokens == 0) continue;  // nothing to learn from in this mini-batch
      for (auto& [name, parameter] : state_->parameters) parameter.mutable_grad() = at::Tensor();
      bool finite = true;

      int64_t micro_start = mini_start;
      while (micro_start < mini_end) {
        // Grow the micro-batch while its padded size fits the token budget (at least one row).
        int64_t micro_end = micro_start + 1, width = batch.lengths[order[micro_start]];
        while (micro_end < mini_end &&
               std::max(width, batch.lengths[order[micro_end]]) * (micro_end - micro_start + 1) <=
                   options.micro_batch_tokens) {
          width = std::max(width, batch.lengths[order[micro_end]]);
          ++micro_end;
        }
        const int64_t micro_rows = micro_end - micro_start;
        at::Tensor ids = at::zeros({micro_rows, width}, at::kLong);     // (B, T) right-padded
        at::Tensor valid = at::zeros({micro_rows, width}, at::kBool);  // (B, T)
        std::vector<int64_t> sel_batch, sel_position, sel_flat, sel_row;
        for (int64_t b = 0; b < micro_rows; ++b) {
          const int64_t r = order[micro_start + b];
          for (int64_t t = 0; t < batch.lengths[r]; ++t) {
            ids.data_ptr<int64_t>()[b * width + t] = batch.ids[starts[r] + t];
            valid.data_ptr<bool>()[b * width + t] = true;
            if (batch.loss_mask[starts[r] + t] != 0) {
              sel_batch.push_back(b);
              sel_position.push_back(t);
              sel_flat.push_back(starts[r] + t);
              sel_row.push_back(b);
            }
          }
        }
        micro_start = micro_end;
        metrics.micro_batches += 1;
        if (sel_flat.empty()) continue;
        auto long_tensor = [&](const std::vector<int64_t>& v) { return at::tensor(v, at::kLong); };
        at::Tensor flat = long_tensor(sel_flat);
        at::Tensor batch_index = long_tensor(sel_batch).to(device), position = long_tensor(sel_position).to(device);
        ids = ids.to(device);
        valid = valid.to(device);
        at::Tensor positions = positions_from_mask(valid), key_mask = causal_key_mask(valid);
        at::Tensor targets = ids.index({batch_index, position});  // (N,)

        at::Tensor hidden = model.hidden_states(ids, positions, key_mask, nullptr);  // (B, T, H)
        at::Tensor predicting = hidden.index({batch_index, position - 1});            // (N, H)
        auto [logp, entropy] = token_logprobs(predicting, model.lm_head_weight(), targets, options.logit_chunk);

        LossInputs inputs;
        inputs.logp = logp;
        inputs.entropy = entropy;
        inputs.behaviour = on_policy ? logp.detach() : behaviour_all.index_select(0, flat).to(device);
        inputs.advantages = advantages_all.index_select(0, flat).to(device);
        inputs.row = long_tensor(sel_row).to(device);
        inputs.rows = micro_rows;
        if (state_->loss.kl_type != KlType::None) {
          if (given_ref) {
            inputs.ref = ref_all.index_select(0, flat).to(device);
          } else {
            torch::NoGradGuard no_grad;
            Qwen2ForCausalLMImpl& reference = *state_->reference->state().model;
            at::Tensor ref_hidden = reference.hidden_states(ids, positions, key_mask, nullptr);
            inputs.ref = token_logprobs(ref_hidden.index({batch_index, position - 1}), reference.lm_head_weight(),
                                        targets, options.logit_chunk, /*with_entropy=*/false)
                             .first;
          }
        }
        LossOutput output = policy_loss(inputs, state_->loss, normaliser);
        const double loss_value = output.loss.item<double>();
        if (!std::isfinite(loss_value)) {
          finite = false;
          continue;
        }
        output.loss.backward();
        loss_total += loss_value * normaliser.tokens;  // token-weighted, to average over mini-batches
        sums.tokens += output.sums.tokens;
        sums.pg += output.sums.pg;
        sums.neg_logp += output.sums.neg_logp;
        sums.kl += output.sums.kl;
        sums.entropy += output.sums.entropy;
        sums.clipped_high += output.sums.clipped_high;
        sums.clipped_low += output.sums.clipped_low;
        sums.approx_kl += output.sums.approx_kl;
        sums.ratio += output.sums.ratio;
        sums.ratio_max = std::max(sums.ratio_max, output.sums.ratio_max);
      }

      // Gradient norm over every parameter, then clipping and the AdamW update (skipped when not finite).
      torch::NoGradGuard no_grad;
      double squared = 0;
      for (auto& [name, parameter] : state_->parameters) {
        if (parameter.grad().defined()) squared += parameter.grad().to(at::kFloat).pow(2).sum().item<double>();
      }
      const double grad_norm = std::sqrt(squared);
      if (!finite || !std::isfinite(grad_norm)) {
        metrics.skipped_updates += 1;
        continue;
      }
      const double max_norm = state_->optimizer.max_grad_norm;
      const double scale = max_norm > 0 && grad_norm > max_norm ? max_norm / (grad_norm + 1e-6) : 1.0;
      state_->updates += 1;
      for (auto& [name, parameter] : state_->parameters) {
        at::Tensor grad = parameter.grad().defined() ? parameter.grad().to(at::kFloat) * scale
                                                     : at::zeros_like(state_->exp_avg[name]);
        at::Tensor param32 = parameter.detach().to(at::kFloat);
        adamw_tensor(param32, grad, state_->exp_avg[name], state_->exp_avg_sq[name], state_->updates,
                     state_->optimizer, lr);
        parameter.detach().copy_(param32);
      }
      metrics.updates += 1;
      state_->policy->state().version += 1;
      grad_norm_total += grad_norm;
      metrics.grad_norm_max = std::max(metrics.grad_norm_max, grad_norm);
    }
  }
  for (auto& [name, parameter] : state_->parameters) parameter.mutable_grad() = at::Tensor();
  state_->steps += 1;

  const double tokens = std::max(sums.tokens, 1.0);
  metrics.tokens = static_cast<int64_t>(sums.tokens);
  metrics.loss = sums.tokens > 0 ? loss_total / sums.tokens : 0;
  metrics.pg_loss = sums.pg / tokens;
  metrics.nll = sums.neg_logp / tokens;
  metrics.kl = sums.kl / tokens;
  metrics.entropy = sums.entropy / tokens;
  metrics.clip_frac_high = sums.clipped_high / tokens;
  metrics.clip_frac_low = sums.clipped_low / tokens;
  metrics.approx_kl = sums.approx_kl / tokens;
  metrics.ratio_mean = sums.ratio / tokens;
  metrics.ratio_max = sums.ratio_max;
  metrics.grad_norm = metrics.updates > 0 ? grad_norm_total / metrics.updates : 0;
  return metrics;
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
  std::vector<std::string> problems;
  auto take = [&](std::map<std::string, at::Tensor>& target, const std::string& prefix) {
    for (auto& [name, tensor] : target) {
      auto found = loaded.find(prefix + name);
      if (found == loaded.end()) {
        problems.push_back("missing " + prefix + name);
      } else if (found->second.sizes() != tensor.sizes()) {
        problems.push_back("wrong shape for " + prefix + name);
      }
    }
  };
  take(state_->exp_avg, "exp_avg.");
  take(state_->exp_avg_sq, "exp_avg_sq.");
  for (const char* counter : {"trainer.updates", "trainer.steps"}) {
    auto found = loaded.find(counter);
    if (found == loaded.end() || found->second.numel() != 1) problems.push_back(std::string("missing ") + counter);
  }
  const size_t expected = state_->exp_avg.size() * 2 + 2;
  if (problems.empty() && loaded.size() != expected) problems.push_back("unexpected tensors in the trainer state");
  if (!problems.empty()) {
    std::string message = "trainer state does not match this policy:";
    for (const std::string& problem : problems) message += "\n  " + problem;
    throw InvalidArgument(message);
  }
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

LossCheck check_policy_loss(const std::vector<float>& logps, const std::vector<float>& entropies,
                            const std::vector<float>& behaviour, const std::vector<float>& ref,
                            const std::vector<float>& advantages, const std::vector<float>& loss_mask,
                            const std::vector<int64_t>& lengths, const TrainerLossOptions& options) {
  LossConfig config = to_loss_config(options);
  const auto total = static_cast<int64_t>(logps.size());
  int64_t sum = std::accumulate(lengths.begin(), lengths.end(), int64_t{0});
  require(sum == total, "lengths add up to " + std::to_string(sum) + " but logps has " + std::to_string(total));
  for (size_t size : {entropies.size(), behaviour.size(), advantages.size(), loss_mask.size()}) {
    require(static_cast<int64_t>(size) == total, "every per-token array must have " + std::to_string(total) + " values");
  }
  require(ref.empty() || static_cast<int64_t>(ref.size()) == total, "refLogps must be empty or match logps");
  require(!ref.empty() || config.kl_type == KlType::None, "refLogps are needed unless klType is none");
  std::vector<int64_t> selected, row_of;
  LossNormaliser normaliser;
  int64_t start = 0;
  for (size_t r = 0; r < lengths.size(); ++r) {
    double row_tokens = 0;
    for (int64_t t = 0; t < lengths[r]; ++t) {
      if (loss_mask[start + t] != 0) {
        selected.push_back(start + t);
        row_of.push_back(static_cast<int64_t>(r));
        row_tokens += 1;
      }
    }
    normaliser.tokens += row_tokens;
    normaliser.rows += row_tokens > 0;
    start += lengths[r];
  }
  auto from = [](const std::vector<float>& v) {
    return at::from_blob(const_cast<float*>(v.data()), {static_cast<int64_t>(v.size())}, at::kFloat).clone();
  };
  at::Tensor index = at::tensor(selected, at::kLong);
  at::Tensor logp_all = from(logps).set_requires_grad(true);
  at::Tensor entropy_all = from(entropies).set_requires_grad(true);
  LossInputs inputs;
  inputs.logp = logp_all.index_select(0, index);
  inputs.entropy = entropy_all.index_select(0, index);
  inputs.behaviour = from(behaviour).index_select(0, index);
  inputs.advantages = from(advantages).index_select(0, index);
  if (!ref.empty()) inputs.ref = from(ref).index_select(0, index);
  inputs.row = at::tensor(row_of, at::kLong);
  inputs.rows = static_cast<int64_t>(lengths.size());
  LossOutput output = policy_loss(inputs, config, normaliser);
  output.loss.backward();
  LossCheck check;
  check.loss = output.loss.item<double>();
  const double tokens = std::max(output.sums.tokens, 1.0);
  check.metrics.tokens = static_cast<int64_t>(output.sums.tokens);
  check.metrics.pg_loss = output.sums.pg / tokens;
  check.metrics.kl = output.sums.kl / tokens;
  check.metrics.entropy = output.sums.entropy / tokens;
  check.metrics.clip_frac_high = output.sums.clipped_high / tokens;
  check.metrics.clip_frac_low = output.sums.clipped_low / tokens;
  check.metrics.approx_kl = output.sums.approx_kl / tokens;
  check.metrics.ratio_mean = output.sums.ratio / tokens;
  check.metrics.ratio_max = output.sums.ratio_max;
  auto grad_values = [&](const at::Tensor& t) {
    at::Tensor g = t.grad().defined() ? t.grad() : at::zeros_like(t);
    return std::vector<float>(g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
  };
  check.grad_logps = grad_values(logp_all);
  check.grad_entropies = grad_values(entropy_all);
  return check;
}

void adamw_update_arrays(std::vector<float>& params, const std::vector<float>& grads, std::vector<float>& exp_avg,
                         std::vector<float>& exp_avg_sq, int64_t step, const OptimizerOptions& options, double lr) {
  const auto n = static_cast<int64_t>(params.size());
  require(static_cast<int64_t>(grads.size()) == n && static_cast<int64_t>(exp_avg.size()) == n &&
              static_cast<int64_t>(exp_avg_sq.size()) == n,
          "params, grads, expAvg and expAvgSq must have the same length");
  require(step >= 1, "step must be >= 1");
  validate_optimizer(options);
  at::Tensor p = at::from_blob(params.data(), {n}, at::kFloat);
  at::Tensor g = at::from_blob(const_cast<float*>(grads.data()), {n}, at::kFloat);
  at::Tensor m = at::from_blob(exp_avg.data(), {n}, at::kFloat);
  at::Tensor v = at::from_blob(exp_avg_sq.data(), {n}, at::kFloat);
  adamw_tensor(p, g, m, v, step, options, lr);
}

}  // namespace rexrag
