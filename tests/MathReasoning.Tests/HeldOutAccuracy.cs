using System.Text.Json;
using System.Text.RegularExpressions;

namespace MathReasoning.Tests;

/// <summary>
/// Grades a finished run's heldout.jsonl by each answer's "#### n" line against the gold number, independently of
/// the maths reward the run trained with, and checks the run's own after_correct marks agree.
/// </summary>
static class HeldOutAccuracy
{
    public static void AssertGain(string outputFolder, int rows, double minimumGain)
    {
        var lines = File.ReadAllLines(Path.Combine(outputFolder, "heldout.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(rows, lines.Count);
        static bool Right(JsonElement row, string field) =>
            Regex.Match(row.GetProperty(field).GetString()!, @"#### (-?\d+)\s*$").Groups[1].Value == row.GetProperty("gold").GetString();
        double before = lines.Count(r => Right(r, "before")) / (double)rows, after = lines.Count(r => Right(r, "after")) / (double)rows;
        Assert.All(lines, r => Assert.Equal(Right(r, "after"), r.GetProperty("after_correct").GetBoolean()));
        Assert.True(after - before >= minimumGain, $"held-out greedy accuracy went from {before:P1} to {after:P1}");
    }
}
