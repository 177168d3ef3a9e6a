#:project ../../../src/Grpo/Grpo.csproj
#:package TorchSharp-cpu
#:property PublishAot=false
// Writes the inputs of vllm_logprobs.py into DIR (default benchmarks/gpu/vllm/carry): a tiny random Qwen2 checkpoint in
// the Hugging Face layout with a byte-level tokenizer, written by Grpo's Checkpoint.Save; a LoRA adapter saved by Grpo
// (PEFT layout) whose B matrices are non-zero, so that log-probs with the adapter differ from the base model's; and
// grpo_samples.json: completions Grpo's GroupSampler drew from base + adapter at temperature 1, with Grpo's log-probs
// of every completion token (the numbers the trainer recomputes), for vLLM to score the same tokens.
// Usage: dotnet run benchmarks/gpu/vllm/prepare.cs [DIR]
using System.Text.Json;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Tokenization;
using static TorchSharp.torch;

var dir = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine("benchmarks", "gpu", "vllm", "carry"));   // run from the repository root
var modelDir = Path.Combine(dir, "model");
Directory.CreateDirectory(modelDir);
// vLLM needs a head dimension its attention kernels support (64 or more) and a vocabulary holding the tokenizer's ids.
var config = ModelConfig.Tiny("qwen2", vocabSize: 258) with { HiddenSize = 256, NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 64, EosTokenIds = [257] };
using var model = CausalLM.Create(config, seed: 7);
Checkpoint.Save(model, modelDir);
var tokenizer = new HfTokenizer(TokenizerDefinition.CreateByteLevel(["<|im_start|>", "<|im_end|>"]));
tokenizer.Save(Path.Combine(modelDir, "tokenizer.json"));
new TokenizerConfig(Path.Combine(modelDir, TokenizerConfig.FileName), ChatMlFormatter.JinjaTemplate, null, "<|im_end|>", null).Save();

var lora = LoraModel.Apply(model, new LoraOptions { Rank = 8, Alpha = 16, Seed = 3 }, modelDir);
using (no_grad())
{
    var generator = new TorchSharp.torch.Generator(11);
    foreach (var (_, layer) in lora.Layers) layer.lora!.B.copy_(randn(layer.lora.B.shape, generator: generator) * 0.3);
}
lora.Save(Path.Combine(dir, "adapter"));

int[][] prompts = [tokenizer.Encode("What is 2 + 3?"), tokenizer.Encode("Name a colour:")];
using var sampler = new GroupSampler(model, tokenizer, new SamplingOptions { Temperature = 1, MaxNewTokens = 12, EosTokenIds = [257], Seed = 5 });
model.eval();
var samples = sampler.Sample(prompts, groupSize: 2).Select(c => new
{
    prompt_token_ids = prompts[c.PromptIndex], completion_token_ids = c.TokenIds, grpo_logprobs = c.LogProbs,
});
File.WriteAllText(Path.Combine(dir, "grpo_samples.json"), JsonSerializer.Serialize(new { temperature = 1.0, samples }));
Console.WriteLine($"wrote {modelDir} and {Path.Combine(dir, "adapter")}");
