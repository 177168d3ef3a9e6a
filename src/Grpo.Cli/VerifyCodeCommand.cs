using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpo.Rewards;
using Grpo.Rewards.Code;

namespace Grpo.Cli;

/// <summary>
/// <c>grpo verify-code</c>: scores C# completions with the code reward, one JSONL row at a time, and writes each
/// row back with its <c>reward</c> and the <c>reason</c> behind it, in input order. Everything that can be wrong
/// with the options, the input or the output path is found before the first program runs, and the output is
/// written whole or not at all (<see cref="AtomicOutput"/>).
/// </summary>
static class VerifyCodeCommand
{
    /// <summary>The most worker processes the command starts; each may use the worker memory limit (512 MiB).</summary>
    const int MaxWorkers = 256;

    static readonly JsonSerializerOptions OutputJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var input = new Option<FileInfo>("--input")
        {
            Description = "JSONL: each row has \"completion\" and either \"prompt\" + \"test\" (MBXP layout) or \"tests\" (an array of C# statements). "
                + "A line that is not a JSON object stops the run before anything is written; a row without a completion or tests scores 0, with the reason.",
            Required = true,
        };
        var output = new Option<FileInfo?>("--output") { Description = "Where to write the scored rows, whole or not at all: the folder must exist. Default: standard output." };
        var timeout = new Option<double>("--timeout")
        {
            Description = $"Seconds each program may run, above 0 and at most {CodeVerifierOptions.MaxTimeout.TotalSeconds:0}.",
            DefaultValueFactory = _ => 5,
        };
        var workers = new Option<int>("--workers")
        {
            Description = $"Worker processes running programs at once, 1 to {MaxWorkers}.",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var extraction = new Option<CodeExtraction>("--extraction")
        {
            Description = "How code is taken from a completion: PreferFenced (last C# block, else last block, else all), RequireFenced, or Raw.",
            DefaultValueFactory = _ => CodeExtraction.PreferFenced,
        };

        var command = new Command("verify-code",
            "Compile and run C# completions against their tests in a sandbox; add \"reward\" and \"reason\" to each row. "
            + $"Exit code 0 when every row was scored; 1 for a bad option, input file or --output path (nothing is written); {CommandErrors.Cancelled} when cancelled.")
        {
            input, output, timeout, workers, extraction,
        };
        command.SetAction((parse, cancellationToken) => CommandErrors.RunAsync("verify-code", parse.InvocationConfiguration.Error, () =>
        {
            var options = new CodeVerifierOptions
            {
                Timeout = TimeoutOption(parse.GetValue(timeout)),
                Workers = WorkersOption(parse.GetValue(workers)),
                Extraction = parse.GetValue(extraction),
            };
            return RunAsync(parse.GetValue(input)!, parse.GetValue(output), options, parse.InvocationConfiguration, cancellationToken);
        }));
        return command;
    }

    static TimeSpan TimeoutOption(double seconds) =>
        seconds > 0 && seconds <= CodeVerifierOptions.MaxTimeout.TotalSeconds // false for NaN too
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"--timeout must be a number of seconds above 0 and at most {CodeVerifierOptions.MaxTimeout.TotalSeconds:0} (one day), e.g. 5; got {seconds.ToString(CultureInfo.InvariantCulture)}.");

    static int WorkersOption(int count) => count is >= 1 and <= MaxWorkers
        ? count
        : throw new ArgumentException($"--workers must be from 1 to {MaxWorkers}, e.g. {Environment.ProcessorCount} (one per core); got {count}.");

    static async Task<int> RunAsync(FileInfo input, FileInfo? output, CodeVerifierOptions options, InvocationConfiguration console, CancellationToken cancellationToken)
    {
        if (!input.Exists)
            throw new FileNotFoundException($"the input file {input.FullName} does not exist.");
        await using var destination = AtomicOutput.Open(output, console.Output);
        var rows = ReadRows(input);

        using var verifier = new CodeVerifier(options);
        var results = await Task.WhenAll(rows.Select(row => ScoreAsync(verifier, row, cancellationToken)));

        for (int i = 0; i < rows.Count; i++)
        {
            rows[i]["reward"] = results[i].Score;
            rows[i]["reason"] = results[i].Reason;
            await destination.Writer.WriteLineAsync(rows[i].ToJsonString(OutputJson));
        }
        await destination.CommitAsync(cancellationToken);
        var passed = results.Count(r => r.Score == 1.0);
        await console.Error.WriteLineAsync($"scored {rows.Count} completions: {passed} passed all tests, mean reward {(rows.Count == 0 ? 0 : results.Average(r => r.Score)):0.####}");
        return 0;
    }

    // Every row, read before any program is compiled, so that a malformed line stops the run before any work.
    static List<JsonObject> ReadRows(FileInfo input)
    {
        var rows = new List<JsonObject>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(input.FullName))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            rows.Add(ParseRow(line) ?? throw new InvalidDataException(
                $"{input.Name} line {lineNumber} is not a JSON object; nothing was written. Each line must be one object with \"completion\" and \"test\" or \"tests\"."));
        }
        return rows;
    }

    static JsonObject? ParseRow(string line)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static async Task<CodeResult> ScoreAsync(CodeVerifier verifier, JsonObject row, CancellationToken cancellationToken)
    {
        if (row["completion"] is not JsonValue completion || completion.GetValueKind() != JsonValueKind.String)
            return new CodeResult(0, "the row has no \"completion\" string", false, 0, 0);
        var fields = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(row.ToJsonString())!;
        var rewardInput = new RewardInput(fields.TryGetValue("prompt", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "",
            completion.GetValue<string>(), [], fields);
        return await verifier.VerifyAsync(rewardInput, cancellationToken)
            ?? new CodeResult(0, "the row has neither \"test\" (with \"prompt\") nor \"tests\"", false, 0, 0);
    }
}
