namespace Grpo.Rewards.Code;

/// <summary>
/// A small shaping reward: <c>bonus</c> when the completion's program (with the problem's tests) compiles and passes
/// the API check, else 0; NaN for a row with neither <c>test</c> nor <c>tests</c>. Early in training it pulls a model
/// toward code that builds before it can pass tests; keep it small beside <see cref="CodeExecutionReward"/>.
/// </summary>
/// <param name="verifier">Compiles the programs; share it with the execution reward so each program compiles once.</param>
/// <param name="bonus">The score for a program that compiles. Default: 0.1.</param>
/// <param name="name">The reward's name in metrics. Default: "code_compiles".</param>
public sealed class CodeCompilesReward(CodeVerifier verifier, double bonus = 0.1, string name = "code_compiles") : IRewardFunction
{
    /// <inheritdoc/>
    public string Name => name;

    /// <inheritdoc/>
    public async Task<double[]> ScoreAsync(IReadOnlyList<RewardInput> inputs, CancellationToken cancellationToken)
    {
        var results = await Task.WhenAll(inputs.Select(input => verifier.CompileAsync(input, cancellationToken)));
        return results.Select(r => r is null ? double.NaN : r.Compiled ? bonus : 0).ToArray();
    }
}
