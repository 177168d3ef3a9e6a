"""Checks that vLLM, serving a Grpo checkpoint with a LoRA adapter saved by Grpo, reports the log-probs Grpo's trainer
recomputes: the premise of rollouts from a server (src/Grpo/Sampling/Server/ServerRollouts.cs). NOT RUN YET: it is
prepared for the first GPU machine with vLLM installed.

Inputs (benchmarks/gpu/vllm/carry, written here by `dotnet run benchmarks/gpu/vllm/prepare.cs`): model/ (a tiny random
Qwen2 written by Grpo's Checkpoint.Save, float32, byte-level tokenizer), adapter/ (PEFT folder saved by Grpo's
LoraModel.Save, rank 8, non-zero B) and grpo_samples.json (completions Grpo's sampler drew from base + adapter at
temperature 1, with Grpo's log-prob of every completion token).

What it does, against `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True vllm serve model --enable-lora --max-lora-rank 8
--max-loras 2 --logprobs-mode processed_logprobs --dtype float32`:
1. POST /v1/load_lora_adapter with the adapter, as ServerRollouts does.
2. Grpo's tokens scored by vLLM: each sample's prompt + completion sent with prompt_logprobs 0 and max_tokens 1; vLLM's
   log-prob of every completion token against Grpo's (same tokens, same weights, two engines).
3. vLLM's own rollouts: the request body ServerRollouts sends (n 4, logprobs 0, return_token_ids, every sampling field
   explicit, temperature 0.7); vLLM's returned token_logprobs against transformers + PEFT's temperature-scaled
   log-softmax of the same tokens (float32). The base model's log-probs of the same tokens are reported beside them, to
   show the adapter is applied (their gap must be far larger than the engines').
Writes OUT/vllm_logprobs.json and prints one line per check. Exit code 0 when every check is within tolerance,
1 when one is not, 2 when vLLM is not installed (said in the output, nothing else run).

Usage: python3 benchmarks/gpu/vllm_logprobs.py --carry benchmarks/gpu/vllm/carry --out $OUT [--port 8011]
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

TOLERANCE = 2e-3   # float32 on both sides; different kernels and summation orders


def post(url, body, timeout=120):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def wait_healthy(base, process, seconds=600):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vllm serve exited with code {process.returncode}; see vllm.log")
        try:
            with urllib.request.urlopen(base + "/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(2)
    raise RuntimeError("vllm serve did not become healthy in time; see vllm.log")


def rollout_body(model, prompt, n, temperature, max_tokens, eos, seed):
    """The body ServerRollouts sends (CompletionsProtocol.Request), field for field."""
    return {
        "model": model, "prompt": prompt, "n": n, "max_tokens": max_tokens, "temperature": temperature, "top_p": 1.0,
        "top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0,
        "seed": seed, "logprobs": 0, "return_token_ids": True, "stop_token_ids": [eos], "stop": [],
        "include_stop_str_in_output": True, "skip_special_tokens": True, "add_special_tokens": False,
        "ignore_eos": False, "stream": False,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--carry", default="benchmarks/gpu/vllm/carry")
    parser.add_argument("--out", default=os.environ.get("OUT", "out"))
    parser.add_argument("--port", type=int, default=8011)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = {"tolerance": TOLERANCE}
    try:
        import vllm  # noqa: F401
        results["vllm_version"] = vllm.__version__
    except ImportError as e:
        results["vllm"] = f"not installed ({e})"
        json.dump(results, open(os.path.join(args.out, "vllm_logprobs.json"), "w"), indent=2)
        print(f"vllm is not installed on this machine ({e}); nothing was checked.")
        return 2
    import torch
    import transformers
    from peft import PeftModel
    results.update(torch=torch.__version__, transformers=transformers.__version__)

    model_dir, adapter_dir = os.path.abspath(os.path.join(args.carry, "model")), os.path.abspath(os.path.join(args.carry, "adapter"))
    grpo = json.load(open(os.path.join(args.carry, "grpo_samples.json")))
    eos = json.load(open(os.path.join(model_dir, "config.json")))["eos_token_id"]
    base = f"http://127.0.0.1:{args.port}"
    env = dict(os.environ, VLLM_ALLOW_RUNTIME_LORA_UPDATING="True")
    command = ["vllm", "serve", model_dir, "--port", str(args.port), "--enable-lora", "--max-lora-rank", "8", "--max-loras", "2",
               "--logprobs-mode", "processed_logprobs", "--dtype", "float32", "--max-model-len", "256",
               "--gpu-memory-utilization", "0.3", "--enforce-eager", "--served-model-name", "base-model"]
    results["command"] = " ".join(command)
    log = open(os.path.join(args.out, "vllm.log"), "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(base, server)
        status, answer = post(base + "/v1/load_lora_adapter", {"lora_name": "grpo-step-1", "lora_path": adapter_dir, "load_inplace": True})
        results["load_lora_adapter"] = {"status": status, "answer": answer}
        if status != 200:
            raise RuntimeError(f"load_lora_adapter answered {status}: {answer}")

        # 2. Grpo's tokens, scored by vLLM.
        differences = []
        for sample in grpo["samples"]:
            prompt, completion = sample["prompt_token_ids"], sample["completion_token_ids"]
            status, answer = post(base + "/v1/completions", {"model": "grpo-step-1", "prompt": prompt + completion, "max_tokens": 1,
                                                             "prompt_logprobs": 0, "temperature": 1.0, "add_special_tokens": False})
            if status != 200:
                raise RuntimeError(f"scoring answered {status}: {answer}")
            scored = answer["choices"][0]["prompt_logprobs"][len(prompt):]
            vllm_logprobs = [entry[str(token)]["logprob"] for entry, token in zip(scored, completion)]
            differences += [abs(a - b) for a, b in zip(vllm_logprobs, sample["grpo_logprobs"])]
        results["grpo_tokens_scored_by_vllm"] = {"tokens": len(differences), "max_abs_diff": max(differences),
                                                 "mean_abs_diff": sum(differences) / len(differences)}

        # 3. vLLM's rollouts, recomputed by transformers + PEFT.
        temperature, prompts = 0.7, [s["prompt_token_ids"] for s in grpo["samples"][::2]]
        rollouts = []
        for i, prompt in enumerate(prompts):
            status, answer = post(base + "/v1/completions", rollout_body("grpo-step-1", prompt, 4, temperature, 16, eos, 1000 + i))
            if status != 200:
                raise RuntimeError(f"rollout answered {status}: {answer}")
            for choice in answer["choices"]:
                rollouts.append((prompt, choice["token_ids"], choice["logprobs"]["token_logprobs"], choice["finish_reason"]))
        model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).cuda().eval()
        peft_model = PeftModel.from_pretrained(model, adapter_dir).cuda().eval()
        engine, adapter_effect = [], []
        with torch.no_grad():
            for prompt, tokens, vllm_logprobs, _ in rollouts:
                ids = torch.tensor([prompt + tokens], device="cuda")
                def logprobs(m):
                    logits = m(ids).logits[0, len(prompt) - 1:-1].float() / temperature
                    return torch.log_softmax(logits, -1).gather(-1, ids[0, len(prompt):, None])[:, 0].tolist()
                with_adapter = logprobs(peft_model)
                with peft_model.disable_adapter():
                    base_only = logprobs(peft_model)
                engine += [abs(a - b) for a, b in zip(vllm_logprobs, with_adapter)]
                adapter_effect += [abs(a - b) for a, b in zip(with_adapter, base_only)]
        results["vllm_rollouts_recomputed_by_peft"] = {
            "completions": len(rollouts), "tokens": len(engine), "temperature": temperature,
            "finish_reasons": sorted({r[3] for r in rollouts}),
            "max_abs_diff": max(engine), "mean_abs_diff": sum(engine) / len(engine),
            "adapter_effect_mean_abs": sum(adapter_effect) / len(adapter_effect)}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        json.dump(results, open(os.path.join(args.out, "vllm_logprobs.json"), "w"), indent=2)

    scored, rolled = results["grpo_tokens_scored_by_vllm"], results["vllm_rollouts_recomputed_by_peft"]
    print(f"Grpo's tokens scored by vLLM: max |diff| {scored['max_abs_diff']:.2e} over {scored['tokens']} tokens (tolerance {TOLERANCE})")
    print(f"vLLM's rollouts recomputed by PEFT at T={temperature}: max |diff| {rolled['max_abs_diff']:.2e} over {rolled['tokens']} tokens; "
          f"the adapter moves log-probs by {rolled['adapter_effect_mean_abs']:.2e} on average")
    ok = scored["max_abs_diff"] < TOLERANCE and rolled["max_abs_diff"] < TOLERANCE and rolled["adapter_effect_mean_abs"] > 10 * TOLERANCE
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
