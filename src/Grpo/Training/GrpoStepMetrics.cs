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
    /// <summary>
    /// The reward metrics as TRL logs them (<see cref="Advantages.Metrics"/>): <c>reward</c>, <c>reward_std</c>,
    /// <c>frac_reward_zero_std</c>, <c>rewards/NAME/mean</c> and <c>rewards/NAME/std</c>.
    /// </summary>
    public required IReadOnlyDictionary<string, double> RewardMetrics { get; init; }
    /// <summary>Mean weighted reward over the batch (<c>reward</c>).</summary>
    public double Reward => RewardMetrics["reward"];
    /// <summary>Bessel-corrected deviation of the weighted reward over the batch (<c>reward_std</c>).</summary>
    public double RewardStd => RewardMetrics["reward_std"];
    /// <summary>Reward calls that failed (threw, timed out, wrong count) and were recorded as NaN this step.</summary>
    public required int RewardFailures { get; init; }
    /// <summary>Completion length in tokens: mean, min, max (<c>completions/mean_length</c> ...).</summary>
    public required double MeanCompletionLength { get; init; }
    /// <inheritdoc cref="MeanCompletionLength"/>
    public required int MinCompletionLength { get; init; }
    /// <inheritdoc cref="MeanCompletionLength"/>
    public required int MaxCompletionLength { get; init; }
    /// <summary>Fraction of completions cut off by the length limit (<c>completions/clipped_ratio</c>).</summary>
    public required double ClippedRatio { get; init; }
    /// <summary>The loss of the last update, summed over its micro-batches (<c>loss</c>).</summary>
    public required double Loss { get; init; }
    /// <summary>
    /// What the objective logged, under TRL's names and averaged over the last update's micro-batches as TRL averages
    /// them: <c>kl</c>, <c>entropy</c>, <c>clip_ratio/*</c>, loss-type metrics (<c>cispo_clip_ratio</c>,
    /// <c>vespo/phi_seq_mean</c>), <c>policy_loss</c> and <c>entropy_coef</c> with the entropy bonus, and
    /// <c>sampling/*</c> when the sampler-mismatch correction applies.
    /// </summary>
    public required IReadOnlyDictionary<string, double> Objective { get; init; }
    /// <summary>Mean per-token KL to the reference (<c>kl</c>); null when β = 0 skips the reference.</summary>
    public double? Kl => Objective.TryGetValue("kl", out var kl) ? kl : null;
    /// <summary>Mean per-token entropy of the policy on its completions (<c>entropy</c>).</summary>
    public double? Entropy => Objective.TryGetValue("entropy", out var entropy) ? entropy : null;
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
    /// <summary>Tool use of the step's rollouts (<c>tools/call_frequency</c>, <c>tools/failure_frequency</c>); null when the rollouts ran no tool loop.</summary>
    public ToolMetrics? Tools { get; init; }

    /// <summary>The metrics under TRL's names, for logs; absent values (no KL at β = 0) are left out.</summary>
    public IReadOnlyDictionary<string, double> ToDictionary()
    {
        var values = new Dictionary<string, double> { ["step"] = Step };
        foreach (var (name, value) in RewardMetrics) values[name] = value;
        values["reward_failures"] = RewardFailures;
        values["completions/mean_length"] = MeanCompletionLength;
        values["completions/min_length"] = MinCompletionLength;
        values["completions/max_length"] = MaxCompletionLength;
        values["completions/clipped_ratio"] = ClippedRatio;
        values["loss"] = Loss;
        foreach (var (name, value) in Objective) values[name] = value;
        values["grad_norm"] = GradNorm;
        values["learning_rate"] = LearningRate;
        values["num_tokens"] = NumTokens;
        values["trained_completions"] = TrainedCompletions;
        values["sampling_tokens_per_second"] = SamplingTokensPerSecond;
        values["training_tokens_per_second"] = TrainingTokensPerSecond;
        values["time/sampling"] = SamplingSeconds;
        values["time/rewards"] = RewardSeconds;
        values["time/reference"] = ReferenceSeconds;
        values["time/policy"] = PolicySeconds;
        values["step_time"] = StepSeconds;
        foreach (var (name, value) in Tools?.ToDictionary() ?? new Dictionary<string, double>()) values[name] = value;
        foreach (var (name, value) in Evaluation?.Metrics ?? new Dictionary<string, double>()) values[name] = value;
        return values;
    }
}
