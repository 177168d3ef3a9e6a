using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpo.Rewards;
using Grpo.Rewards.Code;

namespace Grpo.Cli;

/// <summary>
/// <c>grpo verify-code</c>: scores C# completions with the code reward, one JSONL row at a time, and writes each
/// row back with its <c>reward</c> and the <c>reason</c> behind it, in input order.
/// </summary>
static class VerifyCodeCommand
{
    static readonly JsonSerializerOptions OutputJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var input = new Option<FileInfo>("--input")
        {
            Description = "JSONL: each row has \"completion\" and either \"prompt\" + \"test\" (MBXP layout) or \"tests\" (an array of C# statements).",
            Required = true,
        };
        var output = new Option<FileInfo?>("--output") { Description = "Where to write the scored rows. Default: standard output." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds each program may run.", DefaultValueFactory = _ => 5 };
        var workers = new Option<int>("--workers") { Description = "Worker processes running programs at once.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var extraction = new Option<CodeExtraction>("--extraction")
        {
            Description = "How code is taken from a completion: PreferFenced (last C# block, else last block, else all), RequireFenced, or Raw.",
            DefaultValueFactory = _ => CodeExtraction.PreferFenced,
        };

        var command = new Command("verify-code", "Compile and run C# completions against their tests in a sandbox; add \"reward\" and \"reason\" to each row.")
        {
            input, output, timeout, workers, extraction,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new CodeVerifierOptions
            {
                Timeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                Workers = parse.GetValue(workers),
                Extraction = parse.GetValue(extraction),
            };
            return await RunAsync(parse.GetValue(input)!, parse.GetValue(output), options, cancellationToken);
        });
        return command;
    }

    static async Task<int> RunAsync(FileInfo input, FileInfo? output, CodeVerifierOptions options, CancellationToken cancellationToken)
    {
        if (!input.Exists)
        {
            Console.Error.WriteLine($"error: the input file {input.FullName} does not exist.");
            return 1;
        }
        // Read every row first, so that a malformed line stops the run before any program is compiled.
        var rows = new List<JsonObject>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(input.FullName))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            if (ParseRow(line) is not { } row)
            {
                Console.Error.WriteLine($"error: {input.Name} line {lineNumber} is not a JSON object. Each line must be one object with \"completion\" and \"test\" or \"tests\".");
                return 1;
            }
            rows.Add(row);
        }

        using var verifier = new CodeVerifier(options);
        var results = await Task.WhenAll(rows.Select(row => ScoreAsync(verifier, row, cancellationToken)));

        await using var writer = output is null ? Console.Out : new StreamWriter(output.FullName);
        for (int i = 0; i < rows.Count; i++)
        {
            rows[i]["reward"] = results[i].Score;
            rows[i]["reason"] = results[i].Reason;
            await writer.WriteLineAsync(rows[i].ToJsonString(OutputJson));
        }
        await writer.FlushAsync(cancellationToken);
        var passed = results.Count(r => r.Score == 1.0);
        Console.Error.WriteLine($"scored {rows.Count} completions: {passed} passed all tests, mean reward {(rows.Count == 0 ? 0 : results.Average(r => r.Score)):0.####}");
        return 0;
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
