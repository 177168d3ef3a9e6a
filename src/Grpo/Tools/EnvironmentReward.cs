using Grpo.Rewards;

namespace Grpo.Tools;

/// <summary>
/// The environment's own score of each rollout (<see cref="ToolEnvironment.GetReward"/>), as a reward function: what
/// TRL adds to the reward functions, with weight 1 and the environment's class name, when an environment defines
/// <c>get_reward</c>. A completion without an environment, or whose environment gives no score, is not applicable (NaN).
/// </summary>
/// <param name="name">The reward's name in metrics (TRL uses the environment's class name).</param>
public sealed class EnvironmentReward(string name) : RewardFunction
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override double Score(RewardInput input) =>
        (input.Environment as ToolEnvironment)?.GetReward() ?? double.NaN;
}
