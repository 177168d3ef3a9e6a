using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Grpo.Rewards.Code.Tests;

/// <summary>The <c>grpo verify-code</c> command, run as the built tool in its own process.</summary>
public sealed class VerifyCodeCliTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-cli-test-").FullName;

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

        var exitCode = await RunCliAsync("verify-code", "--input", input, "--output", output, "--workers", "1");

        Assert.Equal(0, exitCode);
        var rows = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.Equal(["stub", "list", "reference", "no tests"], rows.Select(r => (string)r["id"]!));
        Assert.Equal([0.0, 0.5, 1.0, 0.0], rows.Select(r => (double)r["reward"]!));
        Assert.Contains("test case 0 failed", (string)rows[0]["reason"]!);
        Assert.Contains("test 1 failed", (string)rows[1]["reason"]!);
        Assert.Equal("passed", (string)rows[2]["reason"]!);
        Assert.True((bool)rows[2]["extra"]!["kept"]!);
        Assert.Equal(reference.Test, (string)rows[2]["test"]!);
        Assert.Contains("neither", (string)rows[3]["reason"]!);
    }

    [Fact]
    public async Task Malformed_line_stops_the_run_with_an_error()
    {
        var input = Path.Combine(_directory, "bad.jsonl");
        var output = Path.Combine(_directory, "bad-out.jsonl");
        File.WriteAllLines(input, ["{\"completion\": \"x\", \"tests\": [\"Debug.Assert(true);\"]}", "not json"]);

        var exitCode = await RunCliAsync("verify-code", "--input", input, "--output", output);

        Assert.Equal(1, exitCode);
        Assert.False(File.Exists(output));
    }

    // dotnet grpo.dll ARGS, from the CLI's own output folder.
    static async Task<int> RunCliAsync(params string[] args)
    {
        var cli = typeof(VerifyCodeCliTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "GrpoCliAssembly").Value!;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { RedirectStandardError = true };
        foreach (var argument in new[] { cli }.Concat(args))
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Console.Error.Write(await stderr);
        return process.ExitCode;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
