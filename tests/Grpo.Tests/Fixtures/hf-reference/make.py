# Usage (where transformers and peft are installed): python3 make.py OUTDIR  -> OUTDIR/hf-reference.tar.gz
# Builds tiny Hugging Face reference checkpoints and their outputs with transformers + peft (an independent
# implementation), for Grpo's parity tests. Runs on CPU in float32; deterministic by seed.
import json, os, sys, tarfile, torch, transformers
from safetensors.torch import save_file

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
print("transformers", transformers.__version__, "torch", torch.__version__)
try:
    import peft; print("peft", peft.__version__)
except Exception as e:
    peft = None; print("no peft", e)

common = dict(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2,
              pad_token_id=0, torch_dtype="float32")
cases = {
    "qwen2-bias-yarn": (transformers.Qwen2Config, dict(rope_theta=10000.0, tie_word_embeddings=False,
                         rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16})),
    "qwen3-qknorm-tied": (transformers.Qwen3Config, dict(head_dim=8, rope_theta=1000000.0, tie_word_embeddings=True)),
    "llama-llama3rope": (transformers.LlamaConfig, dict(rope_theta=500000.0, tie_word_embeddings=False,
                         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0, "original_max_position_embeddings": 16})),
    "llama-linear": (transformers.LlamaConfig, dict(rope_theta=10000.0, tie_word_embeddings=True,
                      rope_scaling={"rope_type": "linear", "factor": 2.0})),
    "llama-dynamic": (transformers.LlamaConfig, dict(rope_theta=10000.0, tie_word_embeddings=False,
                       max_position_embeddings=16, rope_scaling={"rope_type": "dynamic", "factor": 2.0})),
}
# Two prompts, the first left-padded, as a batch.
ids = torch.tensor([[0, 0, 0, 5, 17, 33, 9, 100, 64, 3, 77, 12],
                    [1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50]])
mask = (torch.arange(12)[None, :] >= torch.tensor([[3], [0]])).long()
long_ids = torch.randint(3, 128, (1, 24))  # longer than max_position_embeddings for the dynamic case

for name, (cls, extra) in cases.items():
    cfg = cls(**{**common, **extra})
    torch.manual_seed(list(cases).index(name) + 1)
    model = transformers.AutoModelForCausalLM.from_config(cfg).float().eval()
    with torch.no_grad():
        for p in model.parameters():  # norms and biases away from their defaults, so they are tested too
            p.add_(torch.randn_like(p) * 0.1)
    d = os.path.join(out, name)
    shard = "40KB" if name.startswith("qwen3") else "50GB"
    model.save_pretrained(d, safe_serialization=True, max_shard_size=shard)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
        ref = {"input_ids": ids, "attention_mask": mask, "logits": logits.float().contiguous()}
        gen = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=8,
                             min_new_tokens=8, pad_token_id=0, eos_token_id=None)
        ref["greedy"] = gen[:, ids.shape[1]:].contiguous()
        if name == "llama-dynamic":
            ref["long_input_ids"] = long_ids
            ref["long_logits"] = model(input_ids=long_ids).logits.float().contiguous()
    save_file(ref, os.path.join(d, "reference.safetensors"))
    print(name, "params", sum(p.numel() for p in model.parameters()), "files", sorted(os.listdir(d)))

    if peft is not None and name.startswith("qwen3"):
        from peft import LoraConfig, get_peft_model
        for adapter, rs in (("lora", False), ("rslora", True)):
            base = transformers.AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32).eval()
            lcfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, use_rslora=rs, init_lora_weights=False,
                              target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                              task_type="CAUSAL_LM")
            torch.manual_seed(7 if rs else 3)
            pm = get_peft_model(base, lcfg).eval()
            ad = os.path.join(out, name + "-" + adapter)
            pm.save_pretrained(ad)
            with torch.no_grad():
                lref = {"input_ids": ids, "attention_mask": mask,
                        "logits": pm(input_ids=ids, attention_mask=mask).logits.float().contiguous()}
                with pm.disable_adapter():
                    lref["base_logits"] = pm(input_ids=ids, attention_mask=mask).logits.float().contiguous()
            save_file(lref, os.path.join(ad, "reference.safetensors"))
            print(ad, sorted(os.listdir(ad)))
            print(open(os.path.join(ad, "adapter_config.json")).read())

with tarfile.open(os.path.join(os.environ.get("OUT", out), "hf-reference.tar.gz"), "w:gz") as t:
    for n in sorted(os.listdir(out)):
        if n != "hf-reference.tar.gz":
            t.add(os.path.join(out, n), arcname=n)
print("done")
