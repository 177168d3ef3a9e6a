namespace Grpo.Sampling;

/// <summary>
/// How <see cref="GroupSampler"/> draws completions. Defaults follow TRL's GRPOConfig (temperature 1, top-p 1,
/// no top-k, no min-p, 256 new tokens), i.e. plain sampling from the model's distribution.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>Logits are divided by this before sampling; default 1 (TRL). Must be positive; for greedy decoding set <see cref="TopK"/> = 1.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus sampling: keep the most likely tokens whose mass reaches this; default 1 = off (TRL).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Keep only the K most likely tokens; default 0 = off (TRL's None).</summary>
    public int TopK { get; init; }

    /// <summary>Drop tokens less likely than this fraction of the most likely one; default 0 = off (TRL's None).</summary>
    public double MinP { get; init; }

    /// <summary>Most tokens a completion may have; default 256 (TRL's max_completion_length). Hitting it marks the completion truncated.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Ids that end a completion (kept as its last token); default null = the model's generation_config.json / config.json ids.</summary>
    public IReadOnlyList<int>? EosTokenIds { get; init; }

    /// <summary>Texts that end a completion once its decoded text contains one (kept in the completion); default none.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Seed of the sampler's random generator: the same seed gives the same completions; default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Prompts decoded together; a batch holds this many times the group size sequences. Default 8.</summary>
    public int PromptsPerBatch { get; init; } = 8;

    /// <summary>Throws on values out of range, naming the option and the fix.</summary>
    public void Validate()
    {
        if (!(Temperature > 0) || double.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be a positive number; for greedy decoding set TopK = 1 instead.");
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1]; 1 turns nucleus sampling off.");
        if (TopK < 0)
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be 0 (off) or positive.");
        if (!(MinP >= 0 && MinP < 1))
            throw new ArgumentOutOfRangeException(nameof(MinP), MinP, "MinP must be in [0, 1); 0 turns it off.");
        if (MaxNewTokens <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "MaxNewTokens must be positive.");
        if (PromptsPerBatch <= 0)
            throw new ArgumentOutOfRangeException(nameof(PromptsPerBatch), PromptsPerBatch, "PromptsPerBatch must be positive.");
        if (StopStrings.Any(string.IsNullOrEmpty))
            throw new ArgumentException("StopStrings must not contain empty strings.", nameof(StopStrings));
    }
}
