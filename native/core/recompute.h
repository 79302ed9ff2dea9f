// Activation recomputation (gradient checkpointing) of one decoder layer: the forward pass keeps only the
// layer's input, and the backward pass runs the layer again with gradients on to differentiate it. One more
// forward pass of compute buys not holding the layer's activations (attention probabilities, MLP
// intermediates) from the forward to the backward pass. Whether to recompute is the caller's choice.
#pragma once

#include <ATen/ATen.h>

#include "core/qwen2.h"

namespace rexrag {

/// layer.forward(x, context) for x (B, T, H): the same values, differentiable with respect to x and the layer's
/// trainable parameters through a backward pass that recomputes the layer. The context is taken as constant
/// (no gradient flows to it).
at::Tensor recomputed_layer(Qwen2DecoderLayerImpl& layer, const at::Tensor& x, const LayerContext& context);

}  // namespace rexrag
