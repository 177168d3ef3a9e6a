using BenchmarkDotNet.Attributes;
using Grpo.Training;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// Time of one forward + backward of the sampled tokens' log-probs, naive against chunked (<see cref="TokenLogProbs"/>),
/// at vocab 32k, float32, head frozen. Peak memory is measured by <see cref="LogProbMemory"/> (a process per variant).
/// <code>dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- --filter '*TokenLogProbs*' --inProcess</code>
/// One pass takes seconds, so a few iterations suffice.
/// </summary>
[WarmupCount(1)]
[IterationCount(5)]
public class TokenLogProbsBenchmarks
{
    private Tensor _hidden = null!, _weight = null!, _targets = null!, _upstream = null!;

    [Params(4)] public int Batch { get; set; }
    [Params(512)] public int Length { get; set; }
    [Params(256)] public int Hidden { get; set; }
    [Params(32_000)] public int Vocab { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var generator = new Generator(0);
        _hidden = randn([Batch, Length, Hidden], generator: generator).requires_grad_();
        _weight = randn([Vocab, Hidden], generator: generator) / Math.Sqrt(Hidden);
        _targets = randint(Vocab, [Batch, Length], generator: generator);
        _upstream = randn([Batch, Length], generator: generator);
    }

    [Benchmark(Baseline = true)]
    public float Naive() => Backward(nn.functional.linear(_hidden, _weight).div(0.9).log_softmax(-1).gather(-1, _targets.unsqueeze(-1)).squeeze(-1));

    [Benchmark]
    public float Chunked() => Backward(TokenLogProbs.Compute(_hidden, _weight, null, _targets, 0.9));

    private float Backward(Tensor logp)
    {
        using var scope = NewDisposeScope();
        _hidden.grad?.zero_();
        (logp * _upstream).sum().backward();
        logp.Dispose();
        return _hidden.grad!.sum().item<float>();
    }
}
