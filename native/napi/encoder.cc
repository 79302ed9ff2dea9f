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
  Fields fields(object, "config");
  BertConfig config;
  fields.read_into<BertConfig, int64_t>(
      config, {{"vocab_size", &BertConfig::vocab_size}, {"hidden_size", &BertConfig::hidden_size},
               {"num_hidden_layers", &BertConfig::num_hidden_layers}, {"num_attention_heads", &BertConfig::num_attention_heads},
               {"intermediate_size", &BertConfig::intermediate_size}});
  // Optional in HF's config.json: absent ones keep BertConfig's (HF's) defaults.
  fields.read_into<BertConfig, int64_t>(
      config, {{"max_position_embeddings", &BertConfig::max_position_embeddings},
               {"type_vocab_size", &BertConfig::type_vocab_size}}, true);
  fields.read_into<BertConfig, double>(config, {{"layer_norm_eps", &BertConfig::layer_norm_eps}}, true);
  fields.read_into<BertConfig, std::string>(
      config, {{"hidden_act", &BertConfig::hidden_act}, {"position_embedding_type", &BertConfig::position_embedding_type}},
      true);
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

  explicit EncoderWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<EncoderWrap>(info),
        box_(unwrap_box<EncoderBox>(info, "BertEncoder cannot be constructed directly; use BertEncoder.load()")) {}

  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<SentenceEncoder> encoder) {
    auto box = std::make_shared<EncoderBox>();
    box->encoder = std::move(encoder);
    return wrap_box(env, addon_data(env).encoder_constructor, box);
  }

 private:
  static Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Object options = object_arg(info, 0, "options");
    BertConfig config = read_bert_config(options);
    std::vector<WeightFile> files = read_weight_files_option(options);
    SentenceEncoderOptions encoder_options = read_encoder_options(options);
    auto encoder = std::make_shared<std::shared_ptr<SentenceEncoder>>();
    return (new CallWorker(
                info.Env(), "rexrag.encoder.load",
                [config, files, encoder_options, encoder] { *encoder = SentenceEncoder::load(config, files, encoder_options); },
                [encoder](Napi::Env env) -> Napi::Value { return Wrap(env, *encoder); }))
        ->Start();
  }

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
    auto embeddings = std::make_shared<std::vector<float>>();
    auto worker = new CallWorker(
        info.Env(), "rexrag.encoder.encode",
        [box = box_, request = std::move(request), embeddings] { *embeddings = box->encoder->encode(request); },
        [embeddings](Napi::Env env) -> Napi::Value { return to_float32_array(env, *embeddings); });
    return worker->hold(box_, box_->busy).Start();
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
