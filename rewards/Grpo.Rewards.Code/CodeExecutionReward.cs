namespace Grpo.Rewards.Code;

/// <summary>
/// The code-execution reward: the fraction of the problem's tests the completion's program passes (1 or 0 for an
/// MBXP problem), 0 when it does not compile, is rejected by the API check, or breaks a limit; NaN for a row with
/// neither <c>test</c> nor <c>tests</c>. Call the verifier directly to see the reason behind each score.
/// </summary>
/// <param name="verifier">Compiles and runs the programs; share one between rewards.</param>
/// <param name="name">The reward's name in metrics. Default: "code".</param>
public sealed class CodeExecutionReward(CodeVerifier verifier, string name = "code") : IRewardFunction
{
    /// <inheritdoc/>
    public string Name => name;

    /// <inheritdoc/>
    public async Task<double[]> ScoreAsync(IReadOnlyList<RewardInput> inputs, CancellationToken cancellationToken)
    {
        var results = await Task.WhenAll(inputs.Select(input => verifier.VerifyAsync(input, cancellationToken)));
        return results.Select(r => r?.Score ?? double.NaN).ToArray();
    }
}
