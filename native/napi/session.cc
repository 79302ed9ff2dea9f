// N-API class GenerationSession over core/session.h. Row bookkeeping calls are synchronous; generate() is
// async and marks the session busy, so no other call can touch the rows while a worker thread does.
#include <utility>

#include "napi/addon_data.h"
#include "napi/convert.h"
#include "napi/handles.h"
#include "napi/worker.h"

namespace rexrag::napi {
namespace {

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::Stop: return "stop";
    case StopReason::Eos: return "eos";
    case StopReason::Length: return "length";
  }
  return "length";
}

SamplingParams read_sampling(const Napi::Object& options) {
  SamplingParams params;
  params.temperature = number_field(options, "temperature", "options");
  params.top_p = number_field(options, "topP", "options");
  params.top_k = integer_field(options, "topK", "options");
  params.max_new_tokens = integer_field(options, "maxNewTokens", "options");
  params.seed = static_cast<uint64_t>(integer_field(options, "seed", "options"));
  params.stop_strings = string_list(options.Get("stopStrings"), "options.stopStrings");
  params.eos_token_ids = int64_list(options.Get("eosTokenIds"), "options.eosTokenIds");
  if (has_field(options, "vocabLimit")) params.vocab_limit = integer_field(options, "vocabLimit", "options");
  return params;
}

Napi::Array generated_rows(Napi::Env env, const std::vector<GeneratedRow>& rows) {
  Napi::Array out = Napi::Array::New(env, rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const GeneratedRow& row = rows[i];
    Napi::Object item = Napi::Object::New(env);
    item.Set("rowId", static_cast<double>(row.row));
    item.Set("tokens", to_int32_array(env, row.tokens));
    item.Set("logprobs", to_float32_array(env, row.logprobs));
    item.Set("modelLogprobs", to_float32_array(env, row.model_logprobs));
    item.Set("stopReason", stop_reason_name(row.stop_reason));
    if (row.stop_reason == StopReason::Stop) item.Set("stopString", row.stop_string);
    out.Set(static_cast<uint32_t>(i), item);
  }
  return out;
}

int64_t row_arg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "rowId must be a number, got " + type_name(info[index]));
  }
  return info[index].As<Napi::Number>().Int64Value();
}

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "GenerationSession",
                       {InstanceMethod<&SessionWrap::AddRow>("addRow"), InstanceMethod<&SessionWrap::Append>("append"),
                        InstanceMethod<&SessionWrap::Clone>("clone"), InstanceMethod<&SessionWrap::Tokens>("tokens"),
                        InstanceMethod<&SessionWrap::Release>("release"),
                        InstanceMethod<&SessionWrap::Generate>("generate"),
                        InstanceMethod<&SessionWrap::RowCount>("rowCount"),
                        InstanceMethod<&SessionWrap::CacheBytes>("cacheBytes"),
                        InstanceMethod<&SessionWrap::Dispose>("dispose")});
  }

  explicit SessionWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<SessionWrap>(info),
        box_(unwrap_box<SessionBox>(info, "GenerationSession cannot be constructed directly; use createSession()")) {}

  ~SessionWrap() override {
    // Garbage-collected (or disposed and collected): stop counting its memory; a running call keeps the box.
    box_->finalized = true;
    report_session_memory(Env(), *box_);
  }

 private:
  void check(Napi::Env env) { check_usable(env, !box_->session, box_->busy, "GenerationSession"); }

  Napi::Value AddRow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check(env);
    std::vector<int32_t> tokens = int32_list(info[0], "promptTokens");
    return guarded(env, [&]() -> Napi::Value {
      return Napi::Number::New(env, static_cast<double>(box_->session->add_row(tokens)));
    });
  }

  Napi::Value Append(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check(env);
    int64_t row = row_arg(info, 0);
    std::vector<int32_t> tokens = int32_list(info[1], "tokens");
    return guarded(env, [&]() -> Napi::Value {
      box_->session->append(row, tokens);
      return env.Undefined();
    });
  }

  Napi::Value Clone(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check(env);
    int64_t row = row_arg(info, 0);
    int64_t keep = -1;
    if (!info[1].IsUndefined()) {
      if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "keepTokens must be a number, got " + type_name(info[1]));
      keep = info[1].As<Napi::Number>().Int64Value();
      if (keep < 1) throw make_error(env, {"ERR_INVALID_ARG", "keepTokens must be at least 1"});
    }
    return guarded(env, [&]() -> Napi::Value {
      const int64_t copy = box_->session->clone(row, keep);
      report_session_memory(env, *box_);  // a partly filled last page is copied
      return Napi::Number::New(env, static_cast<double>(copy));
    });
  }

  Napi::Value Tokens(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check(env);
    int64_t row = row_arg(info, 0);
    return guarded(env, [&]() -> Napi::Value { return to_int32_array(env, box_->session->tokens(row)); });
  }

  Napi::Value Release(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check(env);
    std::vector<int64_t> rows = int64_list(info[0], "rowIds");
    return guarded(env, [&]() -> Napi::Value {
      for (int64_t row : rows) box_->session->release(row);
      report_session_memory(env, *box_);
      return env.Undefined();
    });
  }

  Napi::Value RowCount(const Napi::CallbackInfo& info) {
    check(info.Env());
    return Napi::Number::New(info.Env(), static_cast<double>(box_->session->row_count()));
  }

  Napi::Value Generate(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    check(env);
    std::vector<int64_t> rows = int64_list(info[0], "rowIds");
    Napi::Object options = object_arg(info, 1, "options");
    SamplingParams params = read_sampling(options);
    auto results = std::make_shared<std::vector<GeneratedRow>>();
    auto worker = new CallWorker(
        env, "rexrag.session.generate",
        [box = box_, rows = std::move(rows), params = std::move(params), results] {
          *results = box->session->generate(rows, params);
        },
        [box = box_, results](Napi::Env e) -> Napi::Value {
          report_session_memory(e, *box);
          return generated_rows(e, *results);
        });
    return worker->hold(box_, box_->busy).Start();
  }

  Napi::Value CacheBytes(const Napi::CallbackInfo& info) {
    check(info.Env());
    return Napi::Number::New(info.Env(), static_cast<double>(box_->session->cache_bytes()));
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), false, box_->busy, "GenerationSession");
    box_->session.reset();
    report_session_memory(info.Env(), *box_);
    return info.Env().Undefined();
  }

  std::shared_ptr<SessionBox> box_;
};

}  // namespace

void report_session_memory(Napi::Env env, SessionBox& box) {
  const int64_t now = box.session && !box.finalized ? box.session->cache_bytes() : 0;
  if (now != box.reported_bytes) Napi::MemoryManagement::AdjustExternalMemory(env, now - box.reported_bytes);
  box.reported_bytes = now;
}

Napi::Object new_session_object(Napi::Env env, const std::shared_ptr<PolicyBox>& policy) {
  auto box = std::make_shared<SessionBox>();
  box->session = std::make_shared<GenerationSession>(policy->policy, policy->token_bytes);
  return wrap_box(env, addon_data(env).session_constructor, box);
}

void register_session(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = SessionWrap::Define(env);
  addon_data(env).session_constructor = Napi::Persistent(constructor);
  exports.Set("GenerationSession", constructor);
}

}  // namespace rexrag::napi
