using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Grpo.GpuCheck;

/// <summary>
/// Writes the run's results to the output folder: <c>results.json</c> (every check with its measured difference and
/// tolerance, and the speed figures) and <c>results.md</c>, the same as readable tables.
/// </summary>
internal static class CheckReport
{
    public const string JsonFileName = "results.json";
    public const string MarkdownFileName = "results.md";

    public static void Write(string outDir, string device, IReadOnlyList<CheckResult> checks, JsonObject? speed)
    {
        Directory.CreateDirectory(outDir);
        var json = new JsonObject
        {
            ["device"] = device,
            ["torchsharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3),
            ["passed"] = checks.All(c => c.Passed),
            ["checks"] = new JsonArray(checks.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["passed"] = c.Passed,
                ["measured"] = double.IsFinite(c.Measured) ? c.Measured : null,
                ["tolerance"] = c.Tolerance,
                ["detail"] = c.Detail,
            }).ToArray()),
            ["speed"] = speed,
        };
        File.WriteAllText(Path.Combine(outDir, JsonFileName), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.WriteAllText(Path.Combine(outDir, MarkdownFileName), Markdown(device, checks, speed));
    }

    public static string Markdown(string device, IReadOnlyList<CheckResult> checks, JsonObject? speed)
    {
        var text = new StringBuilder();
        text.AppendLine($"# Grpo GPU check on {device}").AppendLine();
        text.AppendLine($"{checks.Count(c => c.Passed)} of {checks.Count} checks passed.").AppendLine();
        text.AppendLine("| check | measured | tolerance | result | compared |");
        text.AppendLine("| --- | ---: | ---: | --- | --- |");
        foreach (var c in checks)
            text.AppendLine(CultureInfo.InvariantCulture, $"| {c.Name} | {c.Measured:G3} | {c.Tolerance:G3} | {(c.Passed ? "pass" : "**FAIL**")} | {c.Detail} |");
        if (speed is not null)
        {
            text.AppendLine().AppendLine("| figure | value |").AppendLine("| --- | ---: |");
            foreach (var (key, value) in speed)
                text.AppendLine(CultureInfo.InvariantCulture, $"| {key} | {Format(value)} |");
        }
        return text.ToString();
    }

    private static string Format(JsonNode? value) => value switch
    {
        null => "n/a",
        JsonValue v when v.TryGetValue<double>(out var d) && d != Math.Floor(d) => d.ToString("G4", CultureInfo.InvariantCulture),
        _ => value.ToJsonString(),
    };
}
