using System.Text.Json;
using System.Text.Json.Nodes;

namespace Grpo.Rewards.Code.Tests;

/// <summary>The <c>grpo verify-code</c> command, run as the built tool in its own process.</summary>
public sealed class VerifyCodeCliTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-cli-test-").FullName;
    readonly string _temporary;

    public VerifyCodeCliTests() => _temporary = Directory.CreateDirectory(Path.Combine(_directory, "tmp")).FullName;

    [Fact]
    public async Task Writes_each_row_back_with_reward_and_reason_in_input_order()
    {
        var reference = MbxpProblem.Get("MBCSP/8");
        var stub = MbxpProblem.Get("MBCSP/940");
        var input = Path.Combine(_directory, "in.jsonl");
        var output = Path.Combine(_directory, "out.jsonl");
        string[] lines =
        [
            JsonSerializer.Serialize(new { id = "stub", prompt = stub.Prompt, test = stub.Test, completion = stub.CanonicalSolution }),
            "",
            JsonSerializer.Serialize(new { id = "list", completion = "```cs\npublic static class M { public static int Sq(int x) => x * x; }\n```", tests = new[] { "Debug.Assert(Sq(2) == 4);", "Debug.Assert(Sq(3) == 10);" } }),
            JsonSerializer.Serialize(new { id = "reference", prompt = reference.Prompt, test = reference.Test, completion = reference.CanonicalSolution, extra = new { kept = true } }),
            JsonSerializer.Serialize(new { id = "no tests", completion = "return 1;" }),
        ];
        File.WriteAllLines(input, lines);

        var (exitCode, stderr) = await GrpoCli.RunAsync(_temporary, "verify-code", "--input", input, "--output", output, "--workers", "1");

        Assert.True(exitCode == 0, stderr);
        var rows = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.Equal(["stub", "list", "reference", "no tests"], rows.Select(r => (string)r["id"]!));
        Assert.Equal([0.0, 0.5, 1.0, 0.0], rows.Select(r => (double)r["reward"]!));
        Assert.Contains("test case 0 failed", (string)rows[0]["reason"]!);
        Assert.Contains("test 1 failed", (string)rows[1]["reason"]!);
        Assert.Equal("passed", (string)rows[2]["reason"]!);
        Assert.True((bool)rows[2]["extra"]!["kept"]!);
        Assert.Equal(reference.Test, (string)rows[2]["test"]!);
        Assert.Contains("neither", (string)rows[3]["reason"]!);
        Assert.Empty(Directory.GetFiles(_directory, ".out.jsonl.*")); // the temporary file became the output
        Assert.Empty(GrpoCli.PoolFolders(_temporary));                 // the pool removed its folder
    }

    [Fact]
    public async Task Malformed_line_stops_the_run_before_any_program_runs_and_leaves_the_output_as_it_was()
    {
        var input = Path.Combine(_directory, "bad.jsonl");
        var output = Path.Combine(_directory, "bad-out.jsonl");
        File.WriteAllLines(input, [RunnableRow, "not json", RunnableRow]);
        File.WriteAllText(output, "an earlier run's rows\n");

        var (exitCode, stderr) = await GrpoCli.RunAsync(_temporary, "verify-code", "--input", input, "--output", output);

        Assert.Equal(1, exitCode);
        Assert.StartsWith("grpo verify-code: bad.jsonl line 2 is not a JSON object; nothing was written.", OneLine(stderr));
        Assert.Equal("an earlier run's rows\n", File.ReadAllText(output));
        Assert.Equal(["bad-out.jsonl", "bad.jsonl"], Directory.GetFiles(_directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(GrpoCli.PoolFolders(_temporary));
    }

    [Theory]
    [InlineData("--workers", "0")]
    [InlineData("--workers", "-1")]
    [InlineData("--workers", "257")]
    [InlineData("--timeout", "0")]
    [InlineData("--timeout", "-5")]
    [InlineData("--timeout", "NaN")]
    [InlineData("--timeout", "Infinity")]
    [InlineData("--timeout", "1e12")]
    public async Task Bad_option_value_is_one_line_before_any_work(string option, string value)
    {
        var input = Path.Combine(_directory, "in.jsonl");
        var output = Path.Combine(_directory, "out.jsonl");
        File.WriteAllLines(input, [RunnableRow]);

        var (exitCode, stderr) = await GrpoCli.RunAsync(_temporary, "verify-code", "--input", input, "--output", output, option, value);

        Assert.Equal(1, exitCode);
        Assert.StartsWith($"grpo verify-code: {option} must be ", OneLine(stderr));
        Assert.EndsWith($"got {value.Replace("1e12", "1000000000000")}.", OneLine(stderr));
        Assert.False(File.Exists(output));
        Assert.Empty(GrpoCli.PoolFolders(_temporary));
    }

    [Fact]
    public async Task Output_path_is_checked_before_any_program_runs()
    {
        var input = Path.Combine(_directory, "in.jsonl");
        File.WriteAllLines(input, [RunnableRow]);
        var missingFolder = Path.Combine(_directory, "missing", "out.jsonl");

        var (missingCode, missingErr) = await GrpoCli.RunAsync(_temporary, "verify-code", "--input", input, "--output", missingFolder);
        var (folderCode, folderErr) = await GrpoCli.RunAsync(_temporary, "verify-code", "--input", input, "--output", _temporary);

        Assert.Equal(1, missingCode);
        Assert.Equal($"grpo verify-code: the output folder '{Path.GetDirectoryName(missingFolder)}' does not exist. Create it or choose another --output path.", OneLine(missingErr));
        Assert.Equal(1, folderCode);
        Assert.Equal($"grpo verify-code: --output '{_temporary}' is a folder. Give the path of a file to write.", OneLine(folderErr));
        Assert.Empty(GrpoCli.PoolFolders(_temporary)); // no worker pool was started: nothing was scored
    }

    // A row whose program compiles, so that scoring it would start a worker pool (and leave its folder in TMPDIR while it ran).
    static readonly string RunnableRow = JsonSerializer.Serialize(new { completion = "public static class M { public static int One() => 1; }", tests = new[] { "Debug.Assert(One() == 1);" } });

    // The whole of stderr, which must be exactly one line.
    static string OneLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got:\n{stderr}");
        return lines[0];
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
