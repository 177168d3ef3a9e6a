using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Grpo.Rewards.Code.Tests;

/// <summary>One MBXP C# problem with its reference solution, from the files kept in Data/.</summary>
public sealed record MbxpProblem(
    [property: JsonPropertyName("task_id")] string TaskId,
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("canonical_solution")] string? CanonicalSolution,
    [property: JsonPropertyName("test")] string Test)
{
    /// <summary>Reads a JSONL file of problems, gzip-compressed when its name ends in .gz.</summary>
    public static IReadOnlyList<MbxpProblem> Load(string fileName)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Data", fileName);
        using var file = File.OpenRead(path);
        using var reader = new StreamReader(path.EndsWith(".gz") ? new GZipStream(file, CompressionMode.Decompress) : file);
        var problems = new List<MbxpProblem>();
        while (reader.ReadLine() is { } line)
            if (line.Length > 0)
                problems.Add(JsonSerializer.Deserialize<MbxpProblem>(line)!);
        return problems;
    }

    /// <summary>14 problems: 12 with correct references, and the stubs MBCSP/353 and MBCSP/940.</summary>
    public static IReadOnlyList<MbxpProblem> Slice { get; } = Load("mbxp-slice.jsonl");

    public static MbxpProblem Get(string taskId) => Slice.Single(p => p.TaskId == taskId);
}
