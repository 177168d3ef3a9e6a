using Grpo.Benchmarks;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Tests.Modeling;
using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// The checkpoints transformers 5.17 wrote (tests/Grpo.Tests/Fixtures/hf-reference, see its README), loaded onto the
/// device: the same logits as transformers' float32 forward pass in float32 and in bfloat16, the same greedy tokens
/// as its <c>generate</c>, and PEFT's logits with a LoRA and an rsLoRA adapter. The expected values are the ones stored
/// in the fixtures; nothing here is computed by Grpo on the CPU.
/// </summary>
internal static class FixtureParity
{
    /// <summary>float32 logits: the CPU tests' tolerance; transformers' float32 kernels differ in the last bits only.</summary>
    public const double Float32Tolerance = 1e-4;

    /// <summary>
    /// bfloat16 logits against transformers' float32 logits. bfloat16 keeps 8 significant bits and every layer rounds its
    /// weights and activations to it. The fixtures' logits have a spread (standard deviation) of about 0.57 and reach
    /// 2.4; on the CPU the largest bfloat16 difference over them is 0.041. 0.1 gives other bfloat16 kernels (CUDA's
    /// accumulation order) 2.5 times that, and is still a sixth of the logits' spread.
    /// </summary>
    public const double BFloat16Tolerance = 0.1;

    private static readonly string[] BaseModels = ["qwen2-bias-yarn", "qwen3-qknorm-tied", "llama-llama3rope", "llama-linear", "llama-dynamic"];
    private static readonly string[] Adapters = ["qwen3-qknorm-tied-lora", "qwen3-qknorm-tied-rslora"];

    /// <summary>Every fixture check on <paramref name="device"/>.</summary>
    public static List<CheckResult> Run(string fixtures, DeviceType device)
    {
        var results = new List<CheckResult>();
        foreach (var name in BaseModels)
        {
            var folder = Path.Combine(fixtures, name);
            using var scope = NewDisposeScope();
            var reference = HfReference.Load(folder);
            foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            {
                using var model = Checkpoint.Load(folder, new Device(device), dtype);
                model.eval();
                results.Add(Logits(model, reference, "logits", $"logits {DtypeName(dtype)} {name}", dtype));
                if (name == "llama-dynamic")
                    results.Add(LongLogits(model, reference, $"logits {DtypeName(dtype)} {name} 24 tokens", dtype));
                else if (dtype == ScalarType.Float32)
                    results.Add(Greedy(model, reference, $"greedy tokens float32 {name}"));
            }
        }
        foreach (var adapter in Adapters)
        {
            using var scope = NewDisposeScope();
            using var model = Checkpoint.Load(Path.Combine(fixtures, "qwen3-qknorm-tied"), new Device(device));
            model.eval();
            // The fixture was made under /tmp/hf: the same checkpoint under another path, so no base-name check.
            var lora = LoraModel.Load(model, Path.Combine(fixtures, adapter), baseModelNameOrPath: null);
            var reference = HfReference.Load(Path.Combine(fixtures, adapter));
            results.Add(Logits(model, reference, "logits", $"logits float32 {adapter} (PEFT)", ScalarType.Float32));
            using (lora.Disabled())
                results.Add(Logits(model, reference, "base_logits", $"logits float32 {adapter} disabled (PEFT)", ScalarType.Float32));
        }
        return results;
    }

    private static CheckResult Logits(CausalLM model, Dictionary<string, Tensor> reference, string key, string name, ScalarType dtype) =>
        new(name, HfReference.MaxLogitDiff(model, reference["input_ids"], reference["attention_mask"], reference[key]), Tolerance(dtype),
            "max |logit - transformers float32 logit| over the real tokens of 2 rows x 12");

    private static CheckResult LongLogits(CausalLM model, Dictionary<string, Tensor> reference, string name, ScalarType dtype) =>
        new(name, HfReference.MaxLogitDiff(model, reference["long_input_ids"], null, reference["long_logits"]), Tolerance(dtype),
            "dynamic RoPE past max_position_embeddings 16: max |logit - transformers logit|");

    private static CheckResult Greedy(CausalLM model, Dictionary<string, Tensor> reference, string name)
    {
        var prompts = HfReference.Prompts(reference);
        var expected = reference["greedy"].data<long>().ToArray();
        // Greedy is top-k 1; EOS off, as transformers generated exactly 8 tokens.
        using var sampler = new GroupSampler(model, new IdTokenizer(model.Config.VocabSize),
            new SamplingOptions { TopK = 1, MaxNewTokens = 8, EosTokenIds = [] });
        var completions = sampler.Sample(prompts, groupSize: 1);
        int mismatches = Enumerable.Range(0, 2)
            .Sum(row => completions[row].TokenIds.Zip(expected.Skip(row * 8).Take(8), (a, b) => a == b ? 0 : 1).Sum()
                        + Math.Abs(completions[row].TokenIds.Length - 8));
        return new CheckResult(name, mismatches, 0, "tokens that differ from transformers' generate (2 rows x 8 greedy tokens)");
    }

    private static double Tolerance(ScalarType dtype) => dtype == ScalarType.Float32 ? Float32Tolerance : BFloat16Tolerance;

    public static string DtypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float64 => "float64",
        _ => dtype.ToString(),
    };
}
