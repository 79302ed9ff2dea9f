# Batched multi-turn generation with a KV cache, written plainly (Hugging Face generate() style): left-padded
# rows share one cache grown with torch.cat, a (B, S) key mask marks real tokens, finished rows stay in the
# batch (their tokens are masked out), and appended observations are prefilled on top of the cache, so earlier
# context is never recomputed. Sampling is softmax + torch.multinomial; stop strings are matched on the bytes
# of each row's new tokens exactly as rexrag does (a match must end inside the newest token's bytes).
import torch


class RolloutBatch:
    def __init__(self, model, prompts, pad_id=0):
        """prompts: a list of token-id lists (each non-empty); rows are left-padded to one width."""
        self.model = model
        self.pad_id = pad_id
        self.rows = len(prompts)
        self.tokens = [list(p) for p in prompts]
        self.mask = torch.zeros(self.rows, 0, dtype=torch.long)  # (B, S) keys in the cache
        self.past = None
        self.next_position = torch.zeros(self.rows, dtype=torch.long)  # real tokens seen per row
        self.pending = [list(p) for p in prompts]  # per row, tokens not yet in the cache

    def _pending_tensors(self):
        """The pending tokens left-padded to one width, so the last column is real for every row."""
        if any(len(row) == 0 for row in self.pending):
            raise ValueError("every row needs a pending token (its next logits come from it)")
        width = max(len(row) for row in self.pending)
        ids = torch.full((self.rows, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros(self.rows, width, dtype=torch.long)
        for b, row in enumerate(self.pending):
            ids[b, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[b, width - len(row):] = 1
        return ids, mask

    def append(self, observations):
        """Appends one token list per row (an observation); it is prefilled by the next generate()."""
        for b, obs in enumerate(observations):
            self.pending[b].extend(obs)
            self.tokens[b].extend(obs)

    def _feed(self, ids, mask):
        """Runs the model over new columns (B, P) with mask (B, P); returns the last column's hidden state."""
        positions = self.next_position[:, None] + (mask.cumsum(-1) - 1).clamp(min=0)
        self.mask = torch.cat([self.mask, mask], dim=1)
        hidden, self.past = self.model(ids, positions, self.mask, self.past)
        self.next_position += mask.sum(-1)
        return hidden[:, -1]

    @torch.no_grad()
    def generate(self, max_new_tokens, temperature, stop_strings, eos_ids, token_bytes, generator=None):
        """One turn for every row; returns per row {tokens, logprobs, model_logprobs, stop_reason}."""
        hidden = self._feed(*self._pending_tensors())
        logits = self.model.logits(hidden)  # (B, V)
        active = torch.ones(self.rows, dtype=torch.bool)
        results = [{"tokens": [], "logprobs": [], "model_logprobs": [], "stop_reason": "length"}
                   for _ in range(self.rows)]
        new_bytes = [b"" for _ in range(self.rows)]
        stops = [s.encode("utf-8") for s in stop_strings]
        eos = set(eos_ids)
        for step in range(max_new_tokens):
            logits = logits.float()
            model_logp = torch.log_softmax(logits, dim=-1)
            if temperature == 0:
                token = logits.argmax(-1)
                sample_logp = torch.zeros(self.rows)
            else:
                probs = torch.softmax(logits / temperature, dim=-1)
                token = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
                sample_logp = torch.log(probs.gather(-1, token[:, None]).squeeze(-1))
            picked_logp = model_logp.gather(-1, token[:, None]).squeeze(-1)
            real = active.clone()  # this step's token is real for the rows active before it
            token = torch.where(real, token, torch.full_like(token, self.pad_id))
            token_list, logp_list, model_list = token.tolist(), sample_logp.tolist(), picked_logp.tolist()
            for b in range(self.rows):
                if not real[b]:
                    continue
                t = token_list[b]
                result = results[b]
                result["tokens"].append(t)
                result["logprobs"].append(logp_list[b])
                result["model_logprobs"].append(model_list[b])
                self.tokens[b].append(t)
                if t in eos:
                    active[b] = False
                    result["stop_reason"] = "eos"
                elif stops:
                    piece = token_bytes[t]
                    new_bytes[b] += piece
                    for stop in stops:
                        start = max(0, len(new_bytes[b]) - len(piece) - len(stop) + 1)
                        if new_bytes[b].find(stop, start) >= 0:
                            active[b] = False
                            result["stop_reason"] = "stop"
                            result["stop_string"] = stop.decode("utf-8")
                            break
            if step == max_new_tokens - 1 or not bool(active.any()):
                # The newest tokens are not in the cache yet: the next turn prefills them first.
                self.pending = [[token_list[b]] if real[b] else [] for b in range(self.rows)]
                break
            hidden = self._feed(token[:, None], real.long()[:, None])
            logits = self.model.logits(hidden)
        return results
