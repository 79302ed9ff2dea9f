// Implements recompute.h as a custom autograd function whose inputs are the layer's input and its trainable
// parameters. The backward pass differentiates the recomputed layer with torch::autograd::grad, which returns
// gradients without accumulating them anywhere; the function hands them back to the engine, which adds the
// parameters' gradients to .grad through the outer graph's edges, once per backward pass, as for any op (so
// micro-batch accumulation and the data-parallel all-reduce see nothing new).
#include "core/recompute.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <utility>
#include <vector>

#include "core/autocast.h"

namespace rexrag {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// What the backward pass needs to run the layer again: the layer, its constant inputs and the parameters
/// to differentiate (held in an IValue capsule in the autograd context).
struct LayerCall : torch::CustomClassHolder {
  Qwen2DecoderLayerImpl* layer = nullptr;
  LayerContext context;
  std::vector<at::Tensor> parameters;  // those that require grad, in layer.parameters() order
  AutocastState autocast;              // the forward pass's, so the recomputation rounds as it did

  at::Tensor run(const at::Tensor& x) const { return layer->forward(x, context); }
};

struct RecomputedLayerFunction : torch::autograd::Function<RecomputedLayerFunction> {
  // `parameters` are inputs only so the graph has edges to them; the layer reads its own (the same tensors).
  // apply() runs this with gradients off, so the layer's intermediate tensors are freed as it goes.
  static at::Tensor forward(AutogradContext* ctx, c10::intrusive_ptr<LayerCall> call, const at::Tensor& x,
                            at::TensorList parameters) {
    ctx->save_for_backward({x});
    at::Tensor out = call->run(x);
    ctx->saved_data["call"] = c10::IValue::make_capsule(std::move(call));
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto capsule = ctx->saved_data["call"].toCapsule();
    const auto& call = static_cast<const LayerCall&>(*capsule);
    // A fresh leaf, so the recomputed graph ends here instead of running on into the earlier layers.
    at::Tensor x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    at::Tensor out;
    {
      torch::autograd::AutoGradMode grad_on(true);  // the engine runs backward functions with gradients off
      // The trainer calls backward outside its autocast scope, so autocast's weight-cast cache starts empty here
      // (a copy cached during the no-grad forward pass would carry no gradient to the weights).
      AutocastScope autocast(x.device().type(), call.autocast);
      out = call.run(x);
    }
    variable_list inputs{x};
    inputs.insert(inputs.end(), call.parameters.begin(), call.parameters.end());
    variable_list input_grads = torch::autograd::grad({out}, inputs, {grads[0]}, /*retain_graph=*/false,
                                                      /*create_graph=*/false, /*allow_unused=*/true);
    variable_list result{at::Tensor()};  // the LayerCall argument is not a tensor
    result.insert(result.end(), input_grads.begin(), input_grads.end());
    return result;
  }
};

}  // namespace

at::Tensor recomputed_layer(Qwen2DecoderLayerImpl& layer, const at::Tensor& x, const LayerContext& context) {
  auto call = c10::make_intrusive<LayerCall>();
  call->layer = &layer;
  call->context = context;
  call->autocast = AutocastState::current(x.device().type());
  for (const at::Tensor& parameter : layer.parameters()) {
    if (parameter.requires_grad()) call->parameters.push_back(parameter);
  }
  const std::vector<at::Tensor> parameters = call->parameters;
  return RecomputedLayerFunction::apply(std::move(call), x, at::TensorList(parameters));
}

}  // namespace rexrag
