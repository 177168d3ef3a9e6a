namespace Grpo.Rewards.Math;

/// <summary>
/// Correctness reward for maths: 1 when the completion's final answer equals the row's gold answer, 0 when it
/// does not (or has none), NaN ("not applicable") when the row has no gold answer the verifier can read.
/// </summary>
/// <remarks>The gold comes from a row field (default <c>answer</c>) and may be a bare answer, a GSM8K solution
/// ending in "#### 72" or a MATH solution with \boxed{...}. Checks are cheap and bounded, so the reward runs
/// in-process on all cores (<see cref="RewardFunction"/>).</remarks>
public sealed class MathAnswerReward : RewardFunction
{
    readonly string _goldField;
    readonly MathVerifierOptions _options;

    /// <summary>Creates the reward.</summary>
    /// <param name="goldField">The row field holding the gold answer. Default "answer" (GSM8K's and MATH-lighteval's name).</param>
    /// <param name="options">Verifier settings; <see cref="MathVerifierOptions.Default"/> when null.</param>
    /// <param name="name">The reward's name in metrics. Default "math_answer".</param>
    /// <exception cref="ArgumentException">An empty field name or reward name.</exception>
    public MathAnswerReward(string goldField = "answer", MathVerifierOptions? options = null, string name = "math_answer")
    {
        if (string.IsNullOrWhiteSpace(goldField))
            throw new ArgumentException("Give the name of the row field that holds the gold answer, e.g. \"answer\".", nameof(goldField));
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("Give the reward a name; metrics are reported under it.", nameof(name));
        _goldField = goldField;
        _options = options ?? MathVerifierOptions.Default;
        Name = name;
    }

    /// <inheritdoc/>
    public override string Name { get; }

    /// <inheritdoc/>
    public override double Score(RewardInput input)
    {
        var gold = input.Field(_goldField);
        if (string.IsNullOrWhiteSpace(gold)) return double.NaN;
        var verdict = MathVerifier.Verify(gold, input.Completion, _options);
        if (!verdict.GoldParsed) return double.NaN;
        return verdict.Equivalent ? 1.0 : 0.0;
    }
}
