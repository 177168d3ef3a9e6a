using System.Diagnostics;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Benchmarks;

/// <summary>
/// Sampling throughput of <see cref="GroupSampler"/> (prefill once, KV cache, finished rows dropped) against a naive
/// sampler that re-runs the whole sequence through the model for every new token, at G = 8 and 256 new tokens,
/// for the tiny test model and a ~20M-parameter one. EOS is disabled so every sequence generates all 256 tokens.
/// The cached sampler reports the median of three runs; the naive one, minutes long at 20M, a single run.
///   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- sampler [--threads N] [--new-tokens N]
/// </summary>
public static class SamplerThroughput
{
    internal const int GroupSize = 8;
    internal const int PromptLength = 32;

    public static void Run(string[] args)
    {
        int newTokens = IntArg(args, "--new-tokens") ?? 256;
        if (IntArg(args, "--threads") is { } threads) set_num_threads(threads);
        Console.WriteLine($"torch threads: {get_num_threads()}, G = {GroupSize}, prompt {PromptLength} tokens, {newTokens} new tokens, float32, CPU");
        Console.WriteLine();
        Console.WriteLine("| model | parameters | cached tokens/s | naive tokens/s | speed-up |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");

        var models = new (string Name, ModelConfig Config)[]
        {
            ("tiny (qwen3 flags)", ModelConfig.Tiny("qwen3")),
            ("20M (qwen3 flags)", BenchmarkModels.Small),
        };
        foreach (var (name, config) in models)
        {
            using var model = CausalLM.Create(config, seed: 0);
            var tokenizer = new IdTokenizer(config.VocabSize);
            var prompt = tokenizer.Prompt(PromptLength);
            var options = new SamplingOptions { MaxNewTokens = newTokens, EosTokenIds = [], Seed = 1 };

            Cached(model, tokenizer, prompt, options with { MaxNewTokens = 8 });   // warm-up
            double cached = Enumerable.Range(0, 3).Select(_ => Cached(model, tokenizer, prompt, options)).Order().ElementAt(1);
            Naive(model, prompt, options with { MaxNewTokens = 8 });
            double naive = Naive(model, prompt, options);
            Console.WriteLine($"| {name} | {model.ParameterCount / 1e6:F2}M | {cached:F0} | {naive:F0} | {cached / naive:F1}x |");
        }
    }

    /// <summary>Completion tokens per second of one <see cref="GroupSampler"/> run of G completions of <paramref name="prompt"/>.</summary>
    internal static double Cached(CausalLM model, ITokenizer tokenizer, int[] prompt, SamplingOptions options)
    {
        using var sampler = new GroupSampler(model, tokenizer, options);
        var watch = Stopwatch.StartNew();
        var completions = sampler.Sample(new List<int[]> { prompt }, GroupSize);
        watch.Stop();
        return completions.Sum(c => c.TokenIds.Length) / watch.Elapsed.TotalSeconds;
    }

    /// <summary>The baseline: same sampling rule, but every step runs the full [G, prompt + generated] sequence.</summary>
    internal static double Naive(CausalLM model, int[] prompt, SamplingOptions options)
    {
        using var inference = inference_mode();
        using var generator = new Generator((ulong)options.Seed, model.Device);
        var sequence = tensor(prompt.Select(i => (long)i).ToArray(), device: model.Device).unsqueeze(0).repeat(GroupSize, 1);
        var watch = Stopwatch.StartNew();
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            using var scope = NewDisposeScope();
            var hidden = model.HiddenStates(sequence);
            var logits = model.Logits(hidden.narrow(1, hidden.shape[1] - 1, 1).squeeze(1));
            var (next, _) = TokenSampler.Sample(logits, options, generator);
            _ = next.cpu().data<long>().ToArray();   // the host sees every token, as the cached sampler's does
            var longer = cat([sequence, next.unsqueeze(1)], 1).MoveToOuterDisposeScope();
            sequence.Dispose();
            sequence = longer;
        }
        watch.Stop();
        sequence.Dispose();
        return GroupSize * options.MaxNewTokens / watch.Elapsed.TotalSeconds;
    }

    internal static int? IntArg(string[] args, string name) => StringArg(args, name) is { } value ? int.Parse(value) : null;

    /// <summary>The value after <paramref name="name"/>, or null when the option is not given; throws when it is given without one.</summary>
    internal static string? StringArg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0) return null;
        return i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{name} needs a value.");
    }
}
