// N-API class BertEncoder over core/encoder.h: load (async), encode (async, Float32Array of rows x hidden),
// hiddenSize, dispose. Inputs are copied into plain C++ structs on the main thread; the work runs on a worker.
#include "napi/encoder.h"

#include <memory>
#include <utility>

#include "core/encoder.h"
#include "napi/addon_data.h"
#include "napi/convert.h"
#include "napi/errors.h"
#include "napi/handles.h"
#include "napi/worker.h"

namespace rexrag::napi {
namespace {

struct EncoderBox {
  std::shared_ptr<SentenceEncoder> encoder;  // null after dispose()
  bool busy = false;
};

BertConfig read_bert_config(const Napi::Object& options) {
  Napi::Value value = options.Get("config");
  if (!value.IsObject()) {
    throw Napi::TypeError::New(options.Env(), "options.config must be an object, got " + type_name(value));
  }
  Napi::Object object = value.As<Napi::Object>();
  BertConfig config;
  config.vocab_size = integer_field(object, "vocab_size", "config");
  config.hidden_size = integer_field(object, "hidden_size", "config");
  config.num_hidden_layers = integer_field(object, "num_hidden_layers", "config");
  config.num_attention_heads = integer_field(object, "num_attention_heads", "config");
  config.intermediate_size = integer_field(object, "intermediate_size", "config");
  if (has_field(object, "max_position_embeddings")) {
    config.max_position_embeddings = integer_field(object, "max_position_embeddings", "config");
  }
  if (has_field(object, "type_vocab_size")) config.type_vocab_size = integer_field(object, "type_vocab_size", "config");
  if (has_field(object, "layer_norm_eps")) config.layer_norm_eps = number_field(object, "layer_norm_eps", "config");
  if (has_field(object, "hidden_act")) config.hidden_act = string_field(object, "hidden_act", "config");
  if (has_field(object, "position_embedding_type")) {
    config.position_embedding_type = string_field(object, "position_embedding_type", "config");
  }
  return config;
}

SentenceEncoderOptions read_encoder_options(const Napi::Object& options) {
  SentenceEncoderOptions out;
  if (has_field(options, "dtype")) out.dtype = string_field(options, "dtype", "options");
  if (has_field(options, "device")) out.device = string_field(options, "device", "options");
  return out;
}

class EncoderWrap : public Napi::ObjectWrap<EncoderWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "BertEncoder",
                       {StaticMethod<&EncoderWrap::Load>("load"), InstanceMethod<&EncoderWrap::Encode>("encode"),
                        InstanceMethod<&EncoderWrap::HiddenSize>("hiddenSize"),
                        InstanceMethod<&EncoderWrap::Dispose>("dispose")});
  }

  explicit EncoderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EncoderWrap>(info) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
      throw Napi::TypeError::New(info.Env(), "BertEncoder cannot be constructed directly; use BertEncoder.load()");
    }
    box_ = *info[0].As<Napi::External<std::shared_ptr<EncoderBox>>>().Data();
  }

  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<SentenceEncoder> encoder) {
    auto box = std::make_shared<EncoderBox>();
    box->encoder = std::move(encoder);
    auto holder = std::make_unique<std::shared_ptr<EncoderBox>>(box);
    auto external = Napi::External<std::shared_ptr<EncoderBox>>::New(
        env, holder.release(), [](Napi::Env, std::shared_ptr<EncoderBox>* data) { delete data; });
    return addon_data(env).encoder_constructor.New({external});
  }

 private:
  class LoadWorker : public PromiseWorker {
   public:
    LoadWorker(Napi::Env env, BertConfig config, std::vector<WeightFile> files, SentenceEncoderOptions options)
        : PromiseWorker(env, "rexrag.encoder.load"), config_(std::move(config)), files_(std::move(files)),
          options_(std::move(options)) {}

   protected:
    void Run() override { encoder_ = SentenceEncoder::load(config_, files_, options_); }
    Napi::Value Result(Napi::Env env) override { return Wrap(env, encoder_); }

   private:
    BertConfig config_;
    std::vector<WeightFile> files_;
    SentenceEncoderOptions options_;
    std::shared_ptr<SentenceEncoder> encoder_;
  };

  static Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Object options = object_arg(info, 0, "options");
    BertConfig config = read_bert_config(options);
    std::vector<WeightFile> files = read_weight_files_option(options);
    SentenceEncoderOptions encoder_options = read_encoder_options(options);
    return (new LoadWorker(info.Env(), std::move(config), std::move(files), std::move(encoder_options)))->Start();
  }

  class EncodeWorker : public PromiseWorker {
   public:
    EncodeWorker(Napi::Env env, std::shared_ptr<EncoderBox> box, SentenceEncoder::EncodeRequest request)
        : PromiseWorker(env, "rexrag.encoder.encode"), box_(std::move(box)), request_(std::move(request)) {
      box_->busy = true;
    }
    ~EncodeWorker() override { box_->busy = false; }

   protected:
    void Run() override { embeddings_ = box_->encoder->encode(request_); }
    Napi::Value Result(Napi::Env env) override { return to_float32_array(env, embeddings_); }

   private:
    std::shared_ptr<EncoderBox> box_;
    SentenceEncoder::EncodeRequest request_;
    std::vector<float> embeddings_;
  };

  Napi::Value Encode(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), !box_->encoder, box_->busy, "BertEncoder");
    Napi::Object options = object_arg(info, 0, "options");
    SentenceEncoder::EncodeRequest request;
    request.ids = int32_list(options.Get("ids"), "options.ids");
    request.lengths = int64_list(options.Get("lengths"), "options.lengths");
    if (has_field(options, "normalize")) {
      Napi::Value normalize = options.Get("normalize");
      if (!normalize.IsBoolean()) {
        throw Napi::TypeError::New(info.Env(), "options.normalize must be a boolean, got " + type_name(normalize));
      }
      request.normalize = normalize.As<Napi::Boolean>().Value();
    }
    if (has_field(options, "pooling")) request.pooling = string_field(options, "pooling", "options");
    if (has_field(options, "microBatchTokens")) {
      request.micro_batch_tokens = integer_field(options, "microBatchTokens", "options");
    }
    return (new EncodeWorker(info.Env(), box_, std::move(request)))->Start();
  }

  Napi::Value HiddenSize(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), !box_->encoder, false, "BertEncoder");
    return Napi::Number::New(info.Env(), static_cast<double>(box_->encoder->config().hidden_size));
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    check_usable(info.Env(), false, box_->busy, "BertEncoder");
    box_->encoder.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<EncoderBox> box_;
};

}  // namespace

void register_encoder(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = EncoderWrap::Define(env);
  addon_data(env).encoder_constructor = Napi::Persistent(constructor);
  exports.Set("BertEncoder", constructor);
}

}  // namespace rexrag::napi
