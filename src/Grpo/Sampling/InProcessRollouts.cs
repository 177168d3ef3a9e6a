using Grpo.Modeling;
using Grpo.Tokenization;

namespace Grpo.Sampling;

/// <summary>
/// Rollouts from the policy being trained, in this process: a <see cref="GroupSampler"/> over the model (adapter
/// included), with the run's sampling settings, and a greedy one for evaluation. The default rollout source.
/// </summary>
public sealed class InProcessRollouts : IRolloutSource, IDisposable
{
    private readonly CausalLM _model;
    private readonly GroupSampler _sampler;
    private readonly GroupSampler _greedy;

    /// <summary>Samples from <paramref name="model"/> with <paramref name="sampling"/>; greedy requests use the same token limit and end ids.</summary>
    public InProcessRollouts(CausalLM model, ITokenizer tokenizer, SamplingOptions sampling)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        _model = model;
        _sampler = new GroupSampler(model, tokenizer, sampling);
        _greedy = new GroupSampler(model, tokenizer, sampling with { TopK = 1, TopP = 1, MinP = 0, Temperature = 1 });
    }

    /// <inheritdoc/>
    public bool LogProbsMatchTrainer => true;

    /// <inheritdoc/>
    /// <remarks>Runs on the calling thread (the model is not thread-safe, and the trainer calls it from its own), with the model in eval mode.</remarks>
    public Task<IReadOnlyList<Completion>> GenerateAsync(RolloutRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var sampler = request.Greedy ? _greedy : _sampler;
        _model.eval();   // rollouts never drop out: they are the policy as it is
        sampler.Reseed(request.Seed);
        return Task.FromResult(sampler.Sample(request.Prompts, request.GroupSize, cancellationToken));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _sampler.Dispose();
        _greedy.Dispose();
    }
}
