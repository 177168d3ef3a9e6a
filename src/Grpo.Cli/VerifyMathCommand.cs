using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpo.Rewards.Math;

namespace Grpo.Cli;

/// <summary>
/// <c>grpo verify-math --input FILE.jsonl [--output FILE]</c>: scores a file of model outputs offline with exactly
/// the verifier used in training. Each input line is a JSON object with <c>gold</c> and <c>pred</c> (other fields
/// are kept); each output line is that object plus <c>"equivalent": true|false</c>, in input order. The last line
/// on stderr gives the counts.
/// </summary>
static class VerifyMathCommand
{
    // Keep LaTeX and non-ASCII text readable in the output ("\\frac", "€"), as users wrote it.
    static readonly JsonSerializerOptions OutputJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var input = new Option<FileInfo>("--input")
        {
            Description = "JSONL file, one {\"gold\": ..., \"pred\": ...} object per line.",
            Required = true,
        };
        var output = new Option<FileInfo?>("--output")
        {
            Description = "Where to write the JSONL results (default: standard output).",
        };
        var command = new Command("verify-math", "Check predicted maths answers against gold answers, line by line.") { input, output };
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            parseResult.GetValue(input)!, parseResult.GetValue(output),
            parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error, cancellationToken));
        return command;
    }

    static async Task<int> RunAsync(FileInfo input, FileInfo? output, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (!input.Exists)
        {
            await stderr.WriteLineAsync($"verify-math: input file '{input.FullName}' not found. Pass a JSONL file with one {{\"gold\": ..., \"pred\": ...}} object per line.");
            return 1;
        }
        if (output is not null && output.Directory is { Exists: false } folder)
        {
            await stderr.WriteLineAsync($"verify-math: output folder '{folder.FullName}' does not exist. Create it or choose another --output path.");
            return 1;
        }

        int lines = 0, equivalent = 0, lineNumber = 0;
        await using var file = output is null ? null : new StreamWriter(output.FullName);
        var writer = file ?? stdout;
        foreach (var line in File.ReadLines(input.FullName))
        {
            cancellationToken.ThrowIfCancellationRequested();
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (!TryReadPair(line, out var row, out var gold, out var pred, out var problem))
            {
                await stderr.WriteLineAsync($"verify-math: {input.Name} line {lineNumber}: {problem} Each line must be a JSON object such as {{\"gold\": \"72\", \"pred\": \"... \\\\boxed{{72}}\"}}.");
                return 1;
            }
            bool same = MathVerifier.AreEquivalent(gold, pred);
            row["equivalent"] = same;
            await writer.WriteLineAsync(row.ToJsonString(OutputJson));
            lines++;
            if (same) equivalent++;
        }
        await writer.FlushAsync(cancellationToken);
        await stderr.WriteLineAsync($"verify-math: {lines} lines, {equivalent} equivalent, {lines - equivalent} not equivalent");
        return 0;
    }

    // gold and pred may be strings or numbers (a GSM8K gold of 72 is often stored as a number).
    static bool TryReadPair(string line, out JsonObject row, out string gold, out string pred, out string problem)
    {
        row = [];
        gold = pred = problem = "";
        try
        {
            if (JsonNode.Parse(line) is not JsonObject obj) { problem = "not a JSON object."; return false; }
            row = obj;
        }
        catch (JsonException e)
        {
            problem = $"not valid JSON ({e.Message}).";
            return false;
        }
        return TryText(row, "gold", out gold, out problem) && TryText(row, "pred", out pred, out problem);
    }

    static bool TryText(JsonObject row, string field, out string text, out string problem)
    {
        text = problem = "";
        var value = row[field];
        if (value is JsonValue v && v.GetValueKind() is JsonValueKind.String) { text = v.GetValue<string>(); return true; }
        if (value is JsonValue n && n.GetValueKind() is JsonValueKind.Number) { text = n.ToJsonString(); return true; }
        problem = value is null ? $"missing \"{field}\"." : $"\"{field}\" must be a string or a number.";
        return false;
    }
}
