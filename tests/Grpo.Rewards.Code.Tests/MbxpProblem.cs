using System.Text.Json;
using System.Text.Json.Serialization;

namespace Grpo.Rewards.Code.Tests;

/// <summary>One MBXP C# problem from the slice kept in Data/ (or from the full set in ../shared).</summary>
public sealed record MbxpProblem(
    [property: JsonPropertyName("task_id")] string TaskId,
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("canonical_solution")] string? CanonicalSolution,
    [property: JsonPropertyName("test")] string Test)
{
    public static IReadOnlyList<MbxpProblem> Load(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<MbxpProblem>(l)!).ToArray();

    public static IReadOnlyList<MbxpProblem> Slice { get; } = Load(Path.Combine(AppContext.BaseDirectory, "Data", "mbxp-slice.jsonl"));

    public static MbxpProblem Get(string taskId) => Slice.Single(p => p.TaskId == taskId);
}
