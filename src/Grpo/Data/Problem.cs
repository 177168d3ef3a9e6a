using System.Text.Json;

namespace Grpo.Data;

/// <summary>
/// One training or evaluation problem: the prompt the model answers and the row's own fields (gold answer,
/// tests, anything else), which reward functions read through <see cref="Grpo.Rewards.RewardInput.Row"/>.
/// </summary>
/// <param name="Prompt">The user message the model sees (before the chat template).</param>
/// <param name="Fields">Every field of the source row, by name.</param>
public sealed record Problem(string Prompt, IReadOnlyDictionary<string, JsonElement> Fields);
