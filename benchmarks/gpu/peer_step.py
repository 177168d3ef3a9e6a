"""The PyTorch peer of the Grpo GPU check's speed run (benchmarks/Grpo.GpuCheck/SpeedRun.cs), on the same card and
the same shapes: transformers' Qwen2 with random weights from a Qwen2Config, PEFT LoRA on the seven projections, and
a hand-written GRPO loss (TRL's formulas: token-level clipped ratio, k3 KL to the adapter-off model, DAPO
normalisation by the batch's completion tokens), in plain eager PyTorch.

Timed the same way: one untimed warm-up step, then the mean of the timed steps; each phase between
torch.cuda.synchronize() calls; peak memory from nvidia-smi's memory.used every 100 ms above the reading taken
before CUDA starts. Writes DIR/results.json with the keys the Grpo program writes under "speed".

What differs from Grpo, on purpose or by the libraries' design: generate() expands the 4 prompts to 32 rows and
prefills each (Grpo prefills each prompt once and shares its cache across the group); the log-probs materialise the
completion logits (TRL's selective_log_softmax, one row at a time in float32) where Grpo computes them in chunks.
PEFT's adapters are kept in bfloat16 (autocast_adapter_dtype=False), as Grpo's are.

Usage: python3 peer_step.py --out DIR [--shape qwen2.5-0.5b|tiny] [--steps N] [--device cuda|cpu]
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

# The architectures and batches of SpeedShape.cs.
SHAPES = {
    "qwen2.5-0.5b": dict(
        arch=dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                  num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                  rms_norm_eps=1e-6, rope_theta=1_000_000.0, tie_word_embeddings=True),
        lora_rank=16, prompts=4, generations=8, prompt_length=128, completion_length=256),
    "tiny": dict(
        arch=dict(vocab_size=320, hidden_size=96, intermediate_size=256, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                  rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False),
        lora_rank=4, prompts=2, generations=2, prompt_length=8, completion_length=8),
}
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
BETA, EPSILON, LEARNING_RATE, MAX_GRAD_NORM, STD_EPSILON = 0.04, 0.2, 1e-5, 1.0, 1e-4


class MemoryPoller:
    """Peak nvidia-smi memory.used above its first reading, polled every 100 ms (as GpuMemoryPoller.cs)."""

    def __init__(self):
        self.baseline, self.peak = None, 0.0
        self.first_reading = threading.Event()
        try:
            self.process = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0", "-lms", "100"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except FileNotFoundError:
            self.process = None
            return
        threading.Thread(target=self._read, daemon=True).start()
        # The baseline must be read before torch starts CUDA; nvidia-smi takes a moment to answer.
        self.first_reading.wait(timeout=5)

    def _read(self):
        for line in self.process.stdout:
            try:
                used = float(line.strip())
            except ValueError:
                continue
            if self.baseline is None:
                self.baseline = used
            self.peak = max(self.peak, used)
            self.first_reading.set()

    def peak_mib(self):
        return None if self.baseline is None else self.peak - self.baseline

    def close(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()


def model_flops(arch, rank):
    """ModelFlops.cs (Kaplan et al. 2020; PaLM appendix B), the same counts for the same shapes."""
    h, i = arch["hidden_size"], arch["intermediate_size"]
    head_dim = h // arch["num_attention_heads"]
    q, kv = arch["num_attention_heads"] * head_dim, arch["num_key_value_heads"] * head_dim
    projections = [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)]
    layers = arch["num_hidden_layers"]
    n = layers * sum(a * b for a, b in projections)
    n_lora = layers * sum(rank * (a + b) for a, b in projections)
    head = arch["vocab_size"] * h

    def training(rows, length, completion):
        return rows * length * (4.0 * n + 6.0 * n_lora + 12.0 * layers * q * length) + rows * completion * 4.0 * head

    def reference(rows, length, completion):
        return rows * length * (2.0 * n + 4.0 * layers * q * length) + rows * completion * 2.0 * head

    def sampling(rows, prompt, completion):
        return (rows * prompt * (2.0 * (n + n_lora) + 4.0 * layers * q * prompt)
                + rows * (completion * 2.0 * (n + n_lora + head)
                          + 4.0 * layers * q * (completion * prompt + completion * (completion + 1) / 2.0)))

    def step(rows, prompt, completion):
        return (sampling(rows, prompt, completion) + reference(rows, prompt + completion, completion)
                + training(rows, prompt + completion, completion))

    return training, step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--shape", default="qwen2.5-0.5b", choices=sorted(SHAPES))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    args = parser.parse_args()
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    shape = SHAPES[args.shape]

    # Before torch starts CUDA, so the first reading excludes this process's context.
    memory = MemoryPoller() if args.device == "cuda" else None
    import torch
    import transformers
    import peft
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from peft import LoraConfig, get_peft_model

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("peer_step: torch sees no CUDA device; check nvidia-smi")
    device = torch.device(args.device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def timed(work):
        sync()
        start = time.perf_counter()
        result = work()
        sync()
        return result, time.perf_counter() - start

    def matmul_ceiling(sizes, repeats):
        best = 0.0
        for n in sizes:
            a = torch.randn(n, n, dtype=torch.bfloat16, device=device)
            b = torch.randn(n, n, dtype=torch.bfloat16, device=device)
            for product in (lambda: a @ b, lambda: torch.nn.functional.linear(a, b)):
                for _ in range(3):
                    product()
                _, seconds = timed(lambda: [product() for _ in range(repeats)])
                best = max(best, 2.0 * n ** 3 * repeats / seconds)
            del a, b
        return best

    ceiling = matmul_ceiling([4096, 8192] if device.type == "cuda" else [256], 10 if device.type == "cuda" else 2)
    print(f"bf16 matmul ceiling: {ceiling / 1e12:.4g} TFLOP/s", flush=True)

    arch = shape["arch"]
    torch.manual_seed(1)
    config = Qwen2Config(**arch, attn_implementation="sdpa")
    with device:
        base = Qwen2ForCausalLM(config)
    base = base.to(torch.bfloat16)
    base.generation_config.eos_token_id = None   # EOS off: every completion is C tokens long, as in Grpo's run
    base.generation_config.pad_token_id = 0
    parameters = sum(p.numel() for p in base.parameters())
    rank = shape["lora_rank"]
    model = get_peft_model(
        base,
        LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=PROJECTIONS, bias="none", task_type="CAUSAL_LM"),
        autocast_adapter_dtype=False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    lora_parameters = sum(p.numel() for p in trainable)
    optimizer = torch.optim.AdamW(trainable, lr=LEARNING_RATE, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)

    prompts_n, g = shape["prompts"], shape["generations"]
    p_len, c_len = shape["prompt_length"], shape["completion_length"]
    vocab = arch["vocab_size"]
    # IdTokenizer.Prompt(P + p).Skip(p) in SpeedRun.cs: different prompts of the same length.
    prompts = torch.tensor([[(i * 37 + 11) % vocab for i in range(p_len + k)][k:] for k in range(prompts_n)], device=device)
    prompt_mask = torch.ones_like(prompts)

    def selective_log_softmax(logits, index):
        """TRL's selective_log_softmax for low-precision logits: one row at a time, here widened to float32 as Grpo does."""
        return torch.stack([
            torch.gather(torch.log_softmax(row.float(), dim=-1), -1, ids.unsqueeze(-1)).squeeze(-1)
            for row, ids in zip(logits, index)])

    def log_probs(sequences, completions):
        logits = model(input_ids=sequences, attention_mask=torch.ones_like(sequences), logits_to_keep=c_len + 1).logits
        return selective_log_softmax(logits[:, :-1], completions)   # position t predicts completion token t

    def step():
        def sample():
            model.eval()
            with torch.no_grad():
                return model.generate(input_ids=prompts, attention_mask=prompt_mask, do_sample=True, temperature=1.0,
                                      top_k=0, top_p=1.0, max_new_tokens=c_len, num_return_sequences=g,
                                      eos_token_id=None, pad_token_id=0)
        sequences, sampling = timed(sample)
        if sequences.shape != (prompts_n * g, p_len + c_len):
            sys.exit(f"peer_step: generate returned {tuple(sequences.shape)}, not {(prompts_n * g, p_len + c_len)}; EOS was not off")
        completions = sequences[:, p_len:]

        def rewards():
            # The share of even token ids, on the host, normalised per group (TRL: (r - mean) / (std + 1e-4)).
            scores = (completions.cpu() % 2 == 0).float().mean(dim=1).view(prompts_n, g)
            advantages = (scores - scores.mean(dim=1, keepdim=True)) / (scores.std(dim=1, keepdim=True) + STD_EPSILON)
            return advantages.view(-1).to(device)
        advantages, rewards_seconds = timed(rewards)

        def reference():
            model.eval()
            with torch.no_grad(), model.disable_adapter():
                return log_probs(sequences, completions)
        ref_logps, reference_seconds = timed(reference)

        def policy():
            model.train()
            logps = log_probs(sequences, completions)
            mask = torch.ones_like(logps)
            ratio = torch.exp(logps - logps.detach())   # mu = 1: pi_old is the policy itself, detached
            clipped = torch.clamp(ratio, 1 - EPSILON, 1 + EPSILON)
            a = advantages.unsqueeze(1)
            per_token = -torch.min(ratio * a, clipped * a)
            delta = ref_logps - logps
            per_token = per_token + BETA * (torch.exp(delta) - delta - 1)
            loss = (per_token * mask).sum() / mask.sum().clamp(min=1.0)   # DAPO: over the batch's completion tokens
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, MAX_GRAD_NORM)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            return loss.item()
        loss, policy_seconds = timed(policy)
        total = sampling + rewards_seconds + reference_seconds + policy_seconds
        return dict(sampling=sampling, rewards=rewards_seconds, reference=reference_seconds, policy=policy_seconds,
                    step=total, loss=loss)

    timings = []
    for s in range(args.steps + 1):
        t = step()
        print(f"step {s}{' (warm-up)' if s == 0 else ''}: {t['step']:.3f} s = sampling {t['sampling']:.3f} + rewards "
              f"{t['rewards']:.3f} + reference {t['reference']:.3f} + policy {t['policy']:.3f}; loss {t['loss']:.6g}", flush=True)
        if s > 0:
            timings.append(t)

    def mean(key):
        return sum(t[key] for t in timings) / len(timings)

    rows = prompts_n * g
    training_flops, step_flops = model_flops(arch, rank)
    policy_seconds, step_seconds = mean("policy"), mean("step")
    speed = {
        "program": "pytorch",
        "shape": args.shape,
        "dtype": "bfloat16",
        "parameters": parameters,
        "lora_parameters": lora_parameters,
        "rows": rows,
        "prompt_length": p_len,
        "completion_length": c_len,
        "timed_steps": len(timings),
        "step_seconds": step_seconds,
        "sampling_seconds": mean("sampling"),
        "rewards_seconds": mean("rewards"),
        "reference_seconds": mean("reference"),
        "policy_seconds": policy_seconds,
        "decode_tokens_per_second": rows * c_len / mean("sampling"),
        "training_tokens_per_second": rows * (p_len + c_len) / policy_seconds,
        "training_tflops_per_second": training_flops(rows, p_len + c_len, c_len) / policy_seconds / 1e12,
        "matmul_bf16_tflops_per_second": ceiling / 1e12,
        "training_mfu": training_flops(rows, p_len + c_len, c_len) / policy_seconds / ceiling,
        "step_mfu": step_flops(rows, p_len, c_len) / step_seconds / ceiling,
        "peak_gpu_memory_mib": memory.peak_mib() if memory else None,
        "last_loss": timings[-1]["loss"],
        "torch_max_memory_allocated_mib": torch.cuda.max_memory_allocated() / 2 ** 20 if device.type == "cuda" else None,
    }
    if memory:
        memory.close()
    os.makedirs(args.out, exist_ok=True)
    result = {"device": args.device, "torch": torch.__version__, "transformers": transformers.__version__,
              "peft": peft.__version__, "speed": speed}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(json.dumps(speed, indent=2))


if __name__ == "__main__":
    main()
