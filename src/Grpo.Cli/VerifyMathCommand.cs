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
/// on stderr gives the counts. Every line is checked before the first is written, and the output file appears
/// whole or not at all (<see cref="AtomicOutput"/>), so a bad line never leaves half a file behind.
/// </summary>
static class VerifyMathCommand
{
    /// <summary>Exit code of a cancelled run (128 + SIGINT, as the other commands report it).</summary>
    const int Cancelled = 130;

    // Keep LaTeX and non-ASCII text readable in the output ("\\frac", "€"), as users wrote it.
    static readonly JsonSerializerOptions OutputJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var input = new Option<FileInfo>("--input")
        {
            Description = "JSONL file, one {\"gold\": ..., \"pred\": ...} object per line. A bad line stops the run before anything is written.",
            Required = true,
        };
        var output = new Option<FileInfo?>("--output")
        {
            Description = "Where to write the JSONL results, whole or not at all: the folder must exist (default: standard output).",
        };
        var command = new Command("verify-math", "Check predicted maths answers against gold answers, line by line. "
            + $"Exit code 0 when every line was checked; 1 for a bad input file, input line or --output path (nothing is written); {Cancelled} when cancelled.")
        {
            input, output,
        };
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
        try
        {
            await using var destination = AtomicOutput.Open(output, stdout);
            var rows = new List<(JsonObject Row, string Gold, string Pred)>();
            int lineNumber = 0;
            foreach (var line in File.ReadLines(input.FullName))
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                if (!TryReadPair(line, out var row, out var gold, out var pred, out var problem))
                {
                    await stderr.WriteLineAsync($"verify-math: {input.Name} line {lineNumber}: {problem} Nothing was written. Each line must be a JSON object such as {{\"gold\": \"72\", \"pred\": \"... \\\\boxed{{72}}\"}}.");
                    return 1;
                }
                rows.Add((row, gold, pred));
            }

            int equivalent = 0;
            foreach (var (row, gold, pred) in rows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                bool same = MathVerifier.AreEquivalent(gold, pred);
                row["equivalent"] = same;
                await destination.Writer.WriteLineAsync(row.ToJsonString(OutputJson));
                if (same) equivalent++;
            }
            await destination.CommitAsync(cancellationToken);
            await stderr.WriteLineAsync($"verify-math: {rows.Count} lines, {equivalent} equivalent, {rows.Count - equivalent} not equivalent");
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"verify-math: {e.Message.Split('\n')[0].Trim()}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            await stderr.WriteLineAsync("verify-math: cancelled.");
            return Cancelled;
        }
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
