namespace Grpo.Rewards.Shaping;

/// <summary>
/// Length shaping by correctness on a cosine schedule: short correct answers earn most, and wrong answers are
/// punished least when long (the model tried harder). Reads correctness from another reward's score, so the
/// answer is checked once.
/// </summary>
/// <remarks>
/// <para>Follows the cosine length-scaling reward of "Demystifying Long Chain-of-Thought Reasoning"
/// (arXiv 2502.03373, the Kimi 1.5 idea in cosine form) as open-r1's <c>get_cosine_scaled_reward</c> implements it
/// (src/open_r1/rewards.py). With L the number of completion token ids and p = min(1, L / L_max):</para>
/// <code>
/// R = v_end + ½ (v_start − v_end) (1 + cos(π p))
/// correct (score ≥ CorrectThreshold): v_start = MaxValueCorrect, v_end = MinValueCorrect
/// wrong:                              v_start = MinValueWrong,   v_end = MaxValueWrong
/// </code>
/// <para>Two deliberate differences from open-r1: L counts tokens, not characters (as the paper does, and as the
/// sampler's limits do); and p is clamped at 1, where open-r1's cosine turns upward again beyond L_max and would
/// reward a correct answer of 2 L_max as much as an empty one.</para>
/// <para>Options: <see cref="CosineLengthRewardOptions"/>. Depends on the reward named
/// <see cref="CosineLengthRewardOptions.CorrectnessReward"/>; NaN when that reward's score is NaN (not applicable)
/// or when the input has text but no token ids.</para>
/// </remarks>
public sealed class CosineLengthReward : RewardFunction
{
    readonly CosineLengthRewardOptions _options;

    /// <summary>Creates the reward.</summary>
    /// <exception cref="ArgumentException">No correctness reward name, a non-positive L_max, or a non-finite value.</exception>
    public CosineLengthReward(CosineLengthRewardOptions? options = null)
    {
        _options = options ?? new();
        if (string.IsNullOrWhiteSpace(_options.CorrectnessReward))
            throw new ArgumentException("CosineLengthRewardOptions.CorrectnessReward must name the reward that scores correctness (for example \"math\").", nameof(options));
        if (_options.MaxLength <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), _options.MaxLength,
                "CosineLengthRewardOptions.MaxLength must be a positive number of tokens.");
        double[] values = [_options.CorrectThreshold, _options.MinValueCorrect, _options.MaxValueCorrect, _options.MinValueWrong, _options.MaxValueWrong];
        if (!values.All(double.IsFinite))
            throw new ArgumentOutOfRangeException(nameof(options), "CosineLengthRewardOptions: the threshold and the four values must be finite numbers.");
        DependsOn = [_options.CorrectnessReward];
    }

    /// <inheritdoc/>
    public override string Name => "cosine_length";

    /// <inheritdoc/>
    public override IReadOnlyList<string> DependsOn { get; }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The input carries no score of the correctness reward: it was not run through a <see cref="RewardRunner"/>.</exception>
    public override double Score(RewardInput input)
    {
        if (!input.PriorScores.TryGetValue(_options.CorrectnessReward, out var correctness))
            throw new InvalidOperationException(
                $"CosineLengthReward needs the score of reward '{_options.CorrectnessReward}' in RewardInput.PriorScores. " +
                "Score through a RewardRunner that also runs that reward, or set PriorScores yourself.");
        if (double.IsNaN(correctness) || CompletionTokens.Missing(input)) return double.NaN;

        double progress = Math.Min(1.0, (double)input.CompletionIds.Count / _options.MaxLength);
        var (start, end) = correctness >= _options.CorrectThreshold
            ? (_options.MaxValueCorrect, _options.MinValueCorrect)
            : (_options.MinValueWrong, _options.MaxValueWrong);
        return end + 0.5 * (start - end) * (1 + Math.Cos(Math.PI * progress));
    }
}
