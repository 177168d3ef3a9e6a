using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Grpo.Tokenization;

namespace Grpo.Benchmarks;

/// <summary>
/// Qwen3 encode speed over the reference rows with an empty BPE word cache (every word merged from its bytes, as for
/// fresh completions): each iteration gets a new tokenizer, built outside the timing. Tokens/s = 22,561 / mean.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, warmupCount: 1, iterationCount: 15)]
public class TokenizerColdEncodeBenchmarks
{
    TokenizerDefinition _definition = null!;
    string[] _texts = null!;
    HfTokenizer _fresh = null!;

    [GlobalSetup]
    public void Setup()
    {
        _definition = Qwen3Reference.LoadTokenizer().Definition;
        _texts = Qwen3Reference.LoadRows().Texts;
    }

    [IterationSetup]
    public void NewTokenizer() => _fresh = new HfTokenizer(_definition);

    [Benchmark]
    public int EncodeCold()
    {
        var tokens = 0;
        foreach (var text in _texts)
            tokens += _fresh.Encode(text).Length;
        return tokens;
    }
}
