namespace Grpo.Training;

/// <summary>
/// What one GRPO step did, under the names TRL logs (<see cref="ToDictionary"/>), so dashboards and habits carry over.
/// Reported through <c>IProgress&lt;GrpoStepMetrics&gt;</c>, the <see cref="GrpoRun.OnStep"/> callback and the run's
/// metric sinks (<c>metrics.jsonl</c>, TensorBoard, <c>ILogger</c>).
/// </summary>
public sealed record GrpoStepMetrics
{
    /// <summary>The step just finished, 1-based; a step is one generation batch and its <see cref="GrpoOptions.NumIterations"/> updates.</summary>
    public required int Step { get; init; }
    /// <summary>The run's length in steps.</summary>
    public required int TotalSteps { get; init; }
    /// <summary>Mean weighted reward over the batch (<c>reward</c>).</summary>
    public required double Reward { get; init; }
    /// <summary>Unbiased deviation of the weighted reward over the batch (<c>reward_std</c>).</summary>
    public required double RewardStd { get; init; }
    /// <summary>Each reward function's mean and deviation, by name (<c>rewards/NAME/mean</c>, <c>rewards/NAME/std</c>).</summary>
    public required IReadOnlyDictionary<string, (double Mean, double Std)> RewardsByFunction { get; init; }
    /// <summary>Reward calls that failed (threw, timed out, wrong count) and were recorded as NaN this step.</summary>
    public required int RewardFailures { get; init; }
    /// <summary>Fraction of groups whose rewards were all equal, so carried no signal (<c>frac_reward_zero_std</c>).</summary>
    public required double FracRewardZeroStd { get; init; }
    /// <summary>Completion length in tokens: mean, min, max (<c>completions/mean_length</c> ...).</summary>
    public required double MeanCompletionLength { get; init; }
    /// <inheritdoc cref="MeanCompletionLength"/>
    public required int MinCompletionLength { get; init; }
    /// <inheritdoc cref="MeanCompletionLength"/>
    public required int MaxCompletionLength { get; init; }
    /// <summary>Fraction of completions cut off by the length limit (<c>completions/clipped_ratio</c>).</summary>
    public required double ClippedRatio { get; init; }
    /// <summary>Mean per-token KL to the reference (<c>kl</c>); null when β = 0 skips the reference.</summary>
    public double? Kl { get; init; }
    /// <summary>Mean per-token entropy of the policy on its completions (<c>entropy</c>).</summary>
    public double? Entropy { get; init; }
    /// <summary>The loss of the last update, summed over its micro-batches (<c>loss</c>).</summary>
    public required double Loss { get; init; }
    /// <summary>Fractions of tokens clipped below, above, either (<c>clip_ratio/low_mean</c>, <c>high_mean</c>, <c>region_mean</c>).</summary>
    public required double ClipRatioLow { get; init; }
    /// <inheritdoc cref="ClipRatioLow"/>
    public required double ClipRatioHigh { get; init; }
    /// <inheritdoc cref="ClipRatioLow"/>
    public required double ClipRatioRegion { get; init; }
    /// <summary>Gradient norm before clipping, of the last update (<c>grad_norm</c>).</summary>
    public required double GradNorm { get; init; }
    /// <summary>Learning rate of the last update (<c>learning_rate</c>).</summary>
    public required double LearningRate { get; init; }
    /// <summary>Prompt and completion tokens of this step's rollout.</summary>
    public required long StepTokens { get; init; }
    /// <summary>Prompt and completion tokens processed since the run began (<c>num_tokens</c>); set by the run.</summary>
    public long NumTokens { get; init; }
    /// <summary>The evaluation run after this step (<see cref="GrpoOptions.EvalSteps"/>); null on steps without one.</summary>
    public EvaluationResult? Evaluation { get; init; }
    /// <summary>Completions trained on this step (fewer than generated when zero-deviation groups are dropped).</summary>
    public required int TrainedCompletions { get; init; }
    /// <summary>Completion tokens sampled per second.</summary>
    public required double SamplingTokensPerSecond { get; init; }
    /// <summary>Prompt and completion tokens through forward and backward per second, over the policy updates.</summary>
    public required double TrainingTokensPerSecond { get; init; }
    /// <summary>Wall time of the step's parts, in seconds: sampling, rewards, reference pass, policy updates.</summary>
    public required double SamplingSeconds { get; init; }
    /// <inheritdoc cref="SamplingSeconds"/>
    public required double RewardSeconds { get; init; }
    /// <inheritdoc cref="SamplingSeconds"/>
    public required double ReferenceSeconds { get; init; }
    /// <inheritdoc cref="SamplingSeconds"/>
    public required double PolicySeconds { get; init; }
    /// <summary>Wall time of the whole step, in seconds (<c>step_time</c>).</summary>
    public required double StepSeconds { get; init; }

    /// <summary>The metrics under TRL's names, for logs; absent values (no KL at β = 0) are left out.</summary>
    public IReadOnlyDictionary<string, double> ToDictionary()
    {
        var values = new Dictionary<string, double>
        {
            ["step"] = Step,
            ["reward"] = Reward,
            ["reward_std"] = RewardStd,
            ["frac_reward_zero_std"] = FracRewardZeroStd,
            ["reward_failures"] = RewardFailures,
            ["completions/mean_length"] = MeanCompletionLength,
            ["completions/min_length"] = MinCompletionLength,
            ["completions/max_length"] = MaxCompletionLength,
            ["completions/clipped_ratio"] = ClippedRatio,
            ["loss"] = Loss,
            ["clip_ratio/low_mean"] = ClipRatioLow,
            ["clip_ratio/high_mean"] = ClipRatioHigh,
            ["clip_ratio/region_mean"] = ClipRatioRegion,
            ["grad_norm"] = GradNorm,
            ["learning_rate"] = LearningRate,
            ["num_tokens"] = NumTokens,
            ["trained_completions"] = TrainedCompletions,
            ["sampling_tokens_per_second"] = SamplingTokensPerSecond,
            ["training_tokens_per_second"] = TrainingTokensPerSecond,
            ["time/sampling"] = SamplingSeconds,
            ["time/rewards"] = RewardSeconds,
            ["time/reference"] = ReferenceSeconds,
            ["time/policy"] = PolicySeconds,
            ["step_time"] = StepSeconds,
        };
        if (Kl is { } kl) values["kl"] = kl;
        if (Entropy is { } entropy) values["entropy"] = entropy;
        foreach (var (name, (mean, std)) in RewardsByFunction)
        {
            values[$"rewards/{name}/mean"] = mean;
            values[$"rewards/{name}/std"] = std;
        }
        foreach (var (name, value) in Evaluation?.Metrics ?? new Dictionary<string, double>())
            values[name] = value;
        return values;
    }
}
