"""Plain-PyTorch peer of Grpo's benchmark: the same decoder, LoRA and chunked log-probs, timed the same way.

The Grpo benchmark (benchmarks/Grpo.Benchmarks, `grpo-step`) runs this script in the same invocation, with the same
shapes and thread count, and prints Grpo / PyTorch for each figure. Nothing here comes from transformers or PEFT (Debian's
python3-torch 1.13 has neither): the model is written the way transformers' eager Qwen2 / Qwen3 / Llama code is
(repeat_kv, an explicit causal mask, softmax upcast to float32), LoRA is PEFT's W x + (alpha / r) B A x with B = 0 at
start, and the log-probs are computed a chunk of tokens at a time with the logits recomputed in backward, as
src/Grpo/Training/TokenLogProbs.cs does.

Three figures, each the best of --repeats runs after one warm-up:
  training: forward of B rows of prompt + completion, log-probs of the completion tokens, backward into the adapters
            (TrainingThroughput.cs);
  decode:   prefill one prompt, share its KV cache across the rows, then decode N tokens for every row, picking each
            token from the full float32 softmax with a seeded multinomial (GroupSampler at top-p 1);
  logprobs: forward + backward of the chunked log-probs alone, hidden states [B, T, H] against the model's head.

Usage: /usr/bin/python3 peer.py --config config.json --dtype float32|bfloat16 --threads N
         [--train B P C] [--decode B P N] [--logprobs B T] [--chunk TOKENS] [--lora-rank 16] [--repeats 3]
Prints one JSON object: {"torch": version, "training_seconds": ..., "decode_seconds": ..., "logprob_seconds": ...}.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class LoraLinear(torch.nn.Module):
    """A frozen linear layer plus PEFT's low-rank update (alpha / r) B A x; A Kaiming-uniform, B zero."""

    def __init__(self, in_features, out_features, bias, rank, dtype):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(out_features, in_features, dtype=dtype) * 0.02, requires_grad=False)
        self.bias = torch.nn.Parameter(torch.zeros(out_features, dtype=dtype), requires_grad=False) if bias else None
        self.rank = rank
        if rank > 0:
            a = torch.empty(rank, in_features)
            torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))
            self.lora_a = torch.nn.Parameter(a.to(dtype))
            self.lora_b = torch.nn.Parameter(torch.zeros(out_features, rank, dtype=dtype))
            self.scale = 2.0   # alpha = 2 r, as the Grpo benchmark's LoraOptions
        self.adapters_on = True

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        if self.rank > 0 and self.adapters_on:
            y = y + F.linear(F.linear(x, self.lora_a), self.lora_b) * self.scale
        return y


class RmsNorm(torch.nn.Module):
    def __init__(self, width, eps, dtype):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(width, dtype=dtype), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        # transformers' Qwen2RMSNorm: the variance in float32, the result back in the input's dtype.
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, c, rank, dtype):
        super().__init__()
        h, heads, kv, d = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        qkv_bias = c["model_type"] == "qwen2" or c.get("attention_bias", False)
        out_bias = c["model_type"] != "qwen2" and c.get("attention_bias", False)
        self.heads, self.kv_heads, self.head_dim = heads, kv, d
        self.q_proj = LoraLinear(h, heads * d, qkv_bias, rank, dtype)
        self.k_proj = LoraLinear(h, kv * d, qkv_bias, rank, dtype)
        self.v_proj = LoraLinear(h, kv * d, qkv_bias, rank, dtype)
        self.o_proj = LoraLinear(heads * d, h, out_bias, rank, dtype)
        self.q_norm = RmsNorm(d, c["rms_norm_eps"], dtype) if c["model_type"] == "qwen3" else None
        self.k_norm = RmsNorm(d, c["rms_norm_eps"], dtype) if c["model_type"] == "qwen3" else None
        i = c["intermediate_size"]
        self.gate_proj = LoraLinear(h, i, False, rank, dtype)
        self.up_proj = LoraLinear(h, i, False, rank, dtype)
        self.down_proj = LoraLinear(i, h, False, rank, dtype)
        self.input_norm = RmsNorm(h, c["rms_norm_eps"], dtype)
        self.post_norm = RmsNorm(h, c["rms_norm_eps"], dtype)

    def attention(self, x, cos, sin, mask, cache):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if cache:   # transformers' DynamicCache: concatenate the new positions
                k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        group = self.heads // self.kv_heads
        # repeat_kv, then eager attention with the softmax in float32 (transformers' eager_attention_forward).
        k = k[:, :, None].expand(b, self.kv_heads, group, k.shape[2], self.head_dim).reshape(b, self.heads, k.shape[2], self.head_dim)
        v = v[:, :, None].expand(b, self.kv_heads, group, v.shape[2], self.head_dim).reshape(b, self.heads, v.shape[2], self.head_dim)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores + mask
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
        return self.o_proj(out)

    def forward(self, x, cos, sin, mask, cache):
        x = x + self.attention(self.input_norm(x), cos, sin, mask, cache)
        y = self.post_norm(x)
        return x + self.down_proj(F.silu(self.gate_proj(y)) * self.up_proj(y))


class Decoder(torch.nn.Module):
    def __init__(self, c, rank, dtype):
        super().__init__()
        self.c, self.dtype = c, dtype
        self.embed = torch.nn.Parameter(torch.randn(c["vocab_size"], c["hidden_size"], dtype=dtype) * 0.02, requires_grad=False)
        self.layers = torch.nn.ModuleList([Layer(c, rank, dtype) for _ in range(c["num_hidden_layers"])])
        self.norm = RmsNorm(c["hidden_size"], c["rms_norm_eps"], dtype)
        self.head = self.embed if c.get("tie_word_embeddings", False) else torch.nn.Parameter(
            torch.randn(c["vocab_size"], c["hidden_size"], dtype=dtype) * 0.02, requires_grad=False)
        d = c["head_dim"]
        self.inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float64) / d)).float()

    def hidden_states(self, ids, past=0, caches=None):
        b, t = ids.shape
        positions = torch.arange(past, past + t, dtype=torch.float32)
        freqs = torch.outer(positions, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(self.dtype)[None, None], emb.sin().to(self.dtype)[None, None]
        mask = None
        if t > 1:
            mask = torch.full((t, past + t), float("-inf"), dtype=self.dtype).triu(past + 1)[None, None]
        x = F.embedding(ids, self.embed)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, mask, None if caches is None else caches[i])
        return self.norm(x)

    def adapters(self):
        return [p for n, p in self.named_parameters() if "lora_" in n]


class ChunkedLogProbs(torch.autograd.Function):
    """log softmax(h W^T)[target], a chunk of tokens at a time; backward recomputes each chunk's logits but the last,
    whose log-softmax forward keeps (TokenLogProbs.cs)."""

    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk):
        flat, flat_targets = hidden.reshape(-1, hidden.shape[-1]), targets.reshape(-1)
        out, lse = torch.empty(flat.shape[0]), torch.empty(flat.shape[0])
        for s in range(0, flat.shape[0], chunk):
            logits = F.linear(flat[s:s + chunk], weight).float()
            lse[s:s + chunk] = torch.logsumexp(logits, dim=-1)
            out[s:s + chunk] = logits.gather(-1, flat_targets[s:s + chunk, None]).squeeze(-1) - lse[s:s + chunk]
        ctx.save_for_backward(hidden, weight, targets, lse, logits - lse[s:s + chunk, None])
        ctx.chunk = chunk
        return out.view(targets.shape)

    @staticmethod
    def backward(ctx, grad):
        hidden, weight, targets, lse, last = ctx.saved_tensors
        flat, flat_targets, flat_grad = hidden.reshape(-1, hidden.shape[-1]), targets.reshape(-1), grad.reshape(-1)
        grad_hidden = torch.empty_like(flat)
        for s in range(0, flat.shape[0], ctx.chunk):
            log_p = last if s + ctx.chunk >= flat.shape[0] else F.linear(flat[s:s + ctx.chunk], weight).float() - lse[s:s + ctx.chunk, None]
            g = flat_grad[s:s + ctx.chunk, None]
            # d log p(y) / d z = onehot(y) - softmax(z)
            dz = torch.exp(log_p).mul_(-g)
            dz.scatter_add_(-1, flat_targets[s:s + ctx.chunk, None], g)
            grad_hidden[s:s + ctx.chunk] = torch.matmul(dz.to(weight.dtype), weight)
        return grad_hidden.view(hidden.shape), None, None, None


def best_of(repeats, work):
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="config.json of the shape (Hugging Face keys)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--train", type=int, nargs=3, metavar=("ROWS", "PROMPT", "COMPLETION"))
    parser.add_argument("--decode", type=int, nargs=3, metavar=("ROWS", "PROMPT", "NEW"))
    parser.add_argument("--logprobs", type=int, nargs=2, metavar=("ROWS", "LENGTH"))
    parser.add_argument("--chunk", type=int, default=0, help="tokens per log-prob chunk; 0: 16M logits / vocab, Grpo's default")
    parser.add_argument("--lora-rank", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.config) as f:
        c = json.load(f)
    c.setdefault("head_dim", c["hidden_size"] // c["num_attention_heads"])
    dtype = getattr(torch, args.dtype)
    vocab = c["vocab_size"]
    chunk = args.chunk or max(1, (16 << 20) // vocab)
    model = Decoder(c, args.lora_rank, dtype)
    result = {"torch": torch.__version__, "threads": torch.get_num_threads()}

    if args.train:
        rows, prompt, completion = args.train
        ids = torch.randint(vocab, (rows, prompt + completion))
        targets = ids[:, prompt:].clone()

        def train():
            hidden = model.hidden_states(ids)[:, prompt - 1:prompt - 1 + completion]
            ChunkedLogProbs.apply(hidden, model.head, targets, chunk).sum().backward()
            for p in model.adapters():
                p.grad = None
        result["training_seconds"] = best_of(args.repeats, train)

    if args.decode:
        rows, prompt, new = args.decode
        prompt_ids = torch.tensor([[(i * 37 + 11) % vocab for i in range(prompt)]])   # IdTokenizer.Prompt
        generator = torch.Generator().manual_seed(1)

        @torch.no_grad()
        def decode():
            caches = [[] for _ in model.layers]
            hidden = model.hidden_states(prompt_ids, 0, caches)[:, -1]
            for cache in caches:   # share the prompt's cache across the rows
                cache[:] = [t.expand(rows, -1, -1, -1).contiguous() for t in cache]
            hidden = hidden.expand(rows, -1)
            for step in range(new):
                logits = F.linear(hidden, model.head).float()
                log_probs = torch.log_softmax(logits, dim=-1)
                token = torch.multinomial(log_probs.exp(), 1, generator=generator)
                token.tolist()   # the host sees every token, as Grpo's sampler does
                if step + 1 < new:
                    hidden = model.hidden_states(token, prompt + step, caches)[:, -1]
        result["decode_seconds"] = best_of(args.repeats, decode)

    if args.logprobs:
        rows, length = args.logprobs
        hidden = torch.randn(rows, length, c["hidden_size"], dtype=dtype).requires_grad_()
        targets = torch.randint(vocab, (rows, length))
        upstream = torch.randn(rows, length)

        def logprobs():
            (ChunkedLogProbs.apply(hidden, model.head, targets, chunk) * upstream).sum().backward()
            hidden.grad = None
        result["logprob_seconds"] = best_of(args.repeats, logprobs)

    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
