using System.Reflection;
using Grpo.Data;
using Microsoft.Extensions.AI;

namespace Grpo.Tools;

/// <summary>
/// A stateful world a rollout acts in, as TRL's <c>environment_factory</c> models one: the trainer makes one instance
/// per rollout, calls <see cref="Reset"/> with the rollout's dataset row, and the model acts on it only through its
/// tool methods, every public instance method a subclass declares (each exposed as an <see cref="AIFunction"/> by
/// <see cref="AIFunctionFactory"/>, its XML-less description taken from a <c>[Description]</c> attribute). It may
/// score the rollout from its final state (<see cref="GetReward"/>, TRL's <c>get_reward</c>), which
/// <see cref="EnvironmentReward"/> turns into a reward function.
/// </summary>
public abstract class ToolEnvironment
{
    private IReadOnlyList<AIFunction>? _tools;

    /// <summary>Starts an episode on <paramref name="row"/> (TRL's <c>reset(**row)</c>).</summary>
    public abstract void Reset(Problem row);

    /// <summary>The rollout's score from the environment's state once it ended; null when this environment gives none (the default).</summary>
    public virtual double? GetReward() => null;

    /// <summary>
    /// The tool methods bound to this instance: the public instance methods declared by the subclasses, not
    /// <see cref="Reset"/>, <see cref="GetReward"/> or property accessors.
    /// </summary>
    public IReadOnlyList<AIFunction> Tools => _tools ??= GetType()
        .GetMethods(BindingFlags.Public | BindingFlags.Instance)
        .Where(m => m.DeclaringType != typeof(ToolEnvironment) && m.DeclaringType != typeof(object) && !m.IsSpecialName
                    && m.GetBaseDefinition().DeclaringType != typeof(ToolEnvironment) && m.GetBaseDefinition().DeclaringType != typeof(object))
        .OrderBy(m => m.MetadataToken)
        .Select(m => AIFunctionFactory.Create(m, this))
        .ToList();
}
