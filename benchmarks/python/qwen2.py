# Qwen2ForCausalLM written plainly in PyTorch, the way a PyTorch user would (Hugging Face modeling_qwen2
# semantics): RMSNorm in float32, rotate_half RoPE, grouped-query attention by repeating K/V, SwiGLU MLP,
# a KV cache grown with torch.cat, and an additive attention mask built from a (B, S) key mask.
# It is the reference rexrag is compared with; the benchmarks' measurement loops live in the workload scripts.
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Qwen2Config:
    def __init__(self, values):
        self.vocab_size = values["vocab_size"]
        self.hidden_size = values["hidden_size"]
        self.intermediate_size = values["intermediate_size"]
        self.num_hidden_layers = values["num_hidden_layers"]
        self.num_attention_heads = values["num_attention_heads"]
        self.num_key_value_heads = values["num_key_value_heads"]
        self.rope_theta = values.get("rope_theta", 10000.0)
        self.rms_norm_eps = values.get("rms_norm_eps", 1e-6)
        self.tie_word_embeddings = values.get("tie_word_embeddings", False)
        self.head_dim = self.hidden_size // self.num_attention_heads


class RMSNorm(nn.Module):
    def __init__(self, size, eps, device=None):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size, device=device))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(x, groups):
    """(B, nKV, S, D) -> (B, nKV * groups, S, D), as HF's repeat_kv."""
    if groups == 1:
        return x
    batch, kv_heads, steps, dim = x.shape
    return x[:, :, None].expand(batch, kv_heads, groups, steps, dim).reshape(batch, kv_heads * groups, steps, dim)


class Attention(nn.Module):
    def __init__(self, config, device=None):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.head_dim = config.head_dim
        self.q_proj = nn.Linear(config.hidden_size, self.num_heads * self.head_dim, bias=True, device=device)
        self.k_proj = nn.Linear(config.hidden_size, self.num_kv_heads * self.head_dim, bias=True, device=device)
        self.v_proj = nn.Linear(config.hidden_size, self.num_kv_heads * self.head_dim, bias=True, device=device)
        self.o_proj = nn.Linear(self.num_heads * self.head_dim, config.hidden_size, bias=False, device=device)

    def forward(self, x, cos, sin, mask, past):
        batch, steps, _ = x.shape
        q = self.q_proj(x).view(batch, steps, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(batch, steps, self.num_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, steps, self.num_kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        groups = self.num_heads // self.num_kv_heads
        k_all, v_all = repeat_kv(k, groups), repeat_kv(v, groups)
        scores = torch.matmul(q, k_all.transpose(2, 3)) / math.sqrt(self.head_dim) + mask
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v_all).transpose(1, 2).reshape(batch, steps, -1)
        return self.o_proj(out), present


class MLP(nn.Module):
    def __init__(self, config, device=None):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False, device=device)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False, device=device)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False, device=device)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config, device=None):
        super().__init__()
        self.self_attn = Attention(config, device)
        self.mlp = MLP(config, device)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps, device)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps, device)

    def forward(self, x, cos, sin, mask, past):
        attn, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        h = x + attn
        return h + self.mlp(self.post_attention_layernorm(h)), present


class Qwen2Model(nn.Module):
    def __init__(self, config, device=None):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, device=device)
        self.layers = nn.ModuleList([DecoderLayer(config, device) for _ in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps, device)


class Qwen2ForCausalLM(nn.Module):
    def __init__(self, config, device=None):
        super().__init__()
        self.config = config
        self.model = Qwen2Model(config, device)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False, device=device)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        dim = config.head_dim
        self.inv_freq = 1.0 / (config.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))

    def forward(self, ids, positions, attention_mask, past=None):
        """Final-norm hidden states (B, T, H) and the new cache.

        ids, positions (B, T); attention_mask (B, S) with 1 for real keys, S = cached length + T.
        past: a list of (k, v) per layer, each (B, nKV, cached, D), or None.
        """
        batch, steps = ids.shape
        x = self.model.embed_tokens(ids)
        freqs = positions[:, :, None].float() * self.inv_freq
        angles = torch.cat((freqs, freqs), dim=-1)[:, None]
        cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
        total = attention_mask.shape[1]
        cached = total - steps
        causal = torch.ones(steps, total, dtype=torch.bool).tril(diagonal=cached)
        allowed = causal[None] & attention_mask[:, None, :].bool()
        mask = torch.zeros(batch, 1, steps, total, dtype=x.dtype)
        mask = mask.masked_fill(~allowed[:, None], torch.finfo(x.dtype).min)
        presents = []
        for i, layer in enumerate(self.model.layers):
            x, present = layer(x, cos, sin, mask, None if past is None else past[i])
            presents.append(present)
        return self.model.norm(x), presents

    def logits(self, hidden):
        return self.lm_head(hidden)


def load_qwen2(config_values, tensors):
    """A Qwen2ForCausalLM holding `tensors` (HF names). Built on the meta device first, so no time is spent on
    a random initialisation that the weights overwrite."""
    config = Qwen2Config(config_values)
    model = Qwen2ForCausalLM(config, device="meta").to_empty(device="cpu")
    state = dict(tensors)
    if config.tie_word_embeddings:
        state.setdefault("lm_head.weight", state["model.embed_tokens.weight"])
    model.load_state_dict(state, strict=True)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight  # to_empty() gave the two their own storage
    return model
