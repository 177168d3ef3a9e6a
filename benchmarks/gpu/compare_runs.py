"""Side by side: the Grpo check program's speed figures and the PyTorch peer's (peer_step.py), both results.json,
with the time ratio Grpo / PyTorch for the whole step and each phase (issue 18's goal: each within 1.5x), and the
parity checks' verdicts. Writes a Markdown table to stdout.

Usage: python3 compare_runs.py GRPO_RESULTS_JSON PEER_RESULTS_JSON
"""
import json
import sys

# (label, key, which is better): seconds compare as Grpo / PyTorch, rates as PyTorch / Grpo, so every ratio is
# "how many times longer Grpo takes" and 1.5 is the goal on each row.
ROWS = [
    ("GRPO step", "step_seconds", "time"),
    ("sampling (decode)", "sampling_seconds", "time"),
    ("reference pass", "reference_seconds", "time"),
    ("policy pass + AdamW (training)", "policy_seconds", "time"),
    ("rewards and batch on the host", "rewards_seconds", "time"),
    ("decode tokens/s", "decode_tokens_per_second", "rate"),
    ("training tokens/s", "training_tokens_per_second", "rate"),
]
INFO = ["training_tflops_per_second", "matmul_bf16_tflops_per_second", "training_mfu", "step_mfu",
        "peak_gpu_memory_mib", "parameters", "lora_parameters", "rows", "prompt_length", "completion_length",
        "timed_steps", "last_loss"]
GOAL = 1.5


def number(value):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main():
    with open(sys.argv[1]) as f:
        grpo = json.load(f)
    with open(sys.argv[2]) as f:
        peer = json.load(f)
    g, p = grpo.get("speed") or {}, peer.get("speed") or {}
    print(f"# Grpo against eager PyTorch on {grpo.get('device')}\n")
    print(f"PyTorch {peer.get('torch')}, transformers {peer.get('transformers')}, PEFT {peer.get('peft')}; "
          f"TorchSharp {grpo.get('torchsharp')} with LibTorchSharp built against that PyTorch.\n")
    print("| figure | Grpo | PyTorch | Grpo time / PyTorch time | within 1.5x |")
    print("| --- | ---: | ---: | ---: | --- |")
    for label, key, kind in ROWS:
        a, b = g.get(key), p.get(key)
        ratio = None if not a or not b else (a / b if kind == "time" else b / a)
        verdict = "n/a" if ratio is None or key == "rewards_seconds" else ("yes" if ratio <= GOAL else "**no**")
        print(f"| {label} | {number(a)} | {number(b)} | {number(ratio)} | {verdict} |")
    print("\n| figure | Grpo | PyTorch |")
    print("| --- | ---: | ---: |")
    for key in INFO:
        print(f"| {key} | {number(g.get(key))} | {number(p.get(key))} |")
    checks = grpo.get("checks", [])
    failed = [c for c in checks if not c["passed"]]
    print(f"\nParity: {len(checks) - len(failed)} of {len(checks)} checks passed on {grpo.get('device')}.")
    for c in failed:
        print(f"- FAILED {c['name']}: {c['measured']} > {c['tolerance']} ({c['detail']})")


if __name__ == "__main__":
    main()
