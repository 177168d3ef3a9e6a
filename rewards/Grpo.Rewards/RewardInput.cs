using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Grpo.Rewards;

/// <summary>
/// One completion to score, with everything a verifier may look at: the prompt it answers, the generated text
/// and token ids, and the dataset row it came from (gold answer, tests, anything else the row carries).
/// </summary>
/// <param name="Prompt">The problem's prompt as the dataset gives it (before any chat template).</param>
/// <param name="Completion">The generated text, decoded without special tokens.</param>
/// <param name="CompletionIds">The generated token ids (length rewards count these).</param>
/// <param name="Row">The dataset row's own fields, by name, exactly as they appear in its JSON.</param>
public sealed record RewardInput(
    string Prompt,
    string Completion,
    IReadOnlyList<int> CompletionIds,
    IReadOnlyDictionary<string, JsonElement> Row)
{
    /// <summary>
    /// Scores already given to this completion by the rewards named in <see cref="IRewardFunction.DependsOn"/>,
    /// by reward name. Lets a reward build on another's verdict (say, length shaping that depends on
    /// correctness) without recomputing it. NaN where that reward was not applicable.
    /// </summary>
    public IReadOnlyDictionary<string, double> PriorScores { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// The whole completion as a conversation when the model used tools: its assistant turns (text and
    /// <see cref="FunctionCallContent"/>s) and the tools' replies (<see cref="FunctionResultContent"/>s), in order, as
    /// TRL's conversational completions give them to rewards. Empty for a single-turn completion, whose text is
    /// <see cref="Completion"/>.
    /// </summary>
    public IReadOnlyList<ChatMessage> Messages { get; init; } = [];

    /// <summary>The environment the rollout acted in (TRL's <c>environments</c> argument to rewards); null without one.</summary>
    public object? Environment { get; init; }

    /// <summary>A row field as text: a JSON string's value, a number's or other value's raw JSON; null when absent or null.</summary>
    public string? Field(string name) =>
        Row.TryGetValue(name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => value.GetRawText(),
        } : null;

    /// <summary>Builds an input from plain text fields, for tests and evaluation tools.</summary>
    public static RewardInput FromText(string prompt, string completion, IReadOnlyDictionary<string, string>? row = null, IReadOnlyList<int>? completionIds = null)
    {
        var fields = new Dictionary<string, JsonElement>();
        foreach (var (key, value) in row ?? new Dictionary<string, string>())
            fields[key] = JsonSerializer.SerializeToElement(value);
        return new RewardInput(prompt, completion, completionIds ?? [], fields);
    }
}
