using Grpo.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Modeling;

/// <summary>The tiny configurations of each family the tests run, and helpers to compare tensors.</summary>
internal static class TestModels
{
    /// <summary>One config per family flag set: Qwen2 (q/k/v bias), Qwen3 (q/k norm, tied), Llama (llama3 RoPE, untied).</summary>
    public static IEnumerable<object[]> Families() =>
    [
        ["qwen2-untied"], ["qwen2-tied"], ["qwen3-tied"], ["qwen3-untied"], ["llama-llama3-untied"], ["llama-bias-tied"],
    ];

    public static ModelConfig Config(string name) => name switch
    {
        "qwen2-untied" => ModelConfig.Tiny("qwen2"),
        "qwen2-tied" => ModelConfig.Tiny("qwen2") with { TieWordEmbeddings = true },
        "qwen3-tied" => ModelConfig.Tiny("qwen3") with { TieWordEmbeddings = true },
        "qwen3-untied" => ModelConfig.Tiny("qwen3"),
        "llama-llama3-untied" => ModelConfig.Tiny("llama"),
        "llama-bias-tied" => ModelConfig.Tiny("llama") with { AttentionBias = true, MlpBias = true, TieWordEmbeddings = true },
        _ => throw new ArgumentException(name),
    };

    /// <summary>Random model whose biases and norm weights are also random, so a wrongly wired bias or norm shows up.</summary>
    public static Grpo.Modeling.CausalLM Random(ModelConfig config, long seed = 1, ScalarType dtype = ScalarType.Float32)
    {
        var model = Grpo.Modeling.CausalLM.Create(config, seed, dtype: dtype);
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)seed + 1000, CPU);
        foreach (var (name, p) in model.named_parameters())
            if (name.EndsWith(".bias") || name.EndsWith("norm.weight"))
                p.copy_(rand(p.shape, generator: generator).mul_(0.5).add_(name.EndsWith(".bias") ? -0.25 : 0.75));
        return model;
    }

    public static Tensor Ids(long batch, long length, long vocab, long seed)
    {
        using var generator = new Generator((ulong)seed, CPU);
        return randint(0, vocab, [batch, length], generator: generator);
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();
    }

    public static string TempFolder()
    {
        var path = Path.Combine(Path.GetTempPath(), "grpo-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
