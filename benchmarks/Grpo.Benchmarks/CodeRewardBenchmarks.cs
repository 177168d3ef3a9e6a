using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Grpo.Rewards.Code;

namespace Grpo.Benchmarks;

/// <summary>
/// Throughput of the C# code reward on MBXP problems: programs compiled, checked and run per second, with the
/// result cache off so that every program is really compiled and run. Programs/s = 1 / Mean.
///   dotnet run -c Release --project benchmarks/Grpo.Benchmarks -- --filter '*CodeReward*'
/// Reads ../shared/data/mbxp-csharp beside the repository: the reference solutions, or the published model
/// completions (a realistic mix of passing, failing and non-compiling programs).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class CodeRewardBenchmarks
{
    const int ProgramsPerInvocation = 100;

    (string Prompt, string Completion, string Test)[] _programs = [];
    CodeVerifier _verifier = null!;
    int _next;

    /// <summary>Which completions to score.</summary>
    [Params("references", "samples")]
    public string Completions { get; set; } = "references";

    /// <summary>Worker processes (and compile threads follow the core count).</summary>
    [Params(2)]
    public int Workers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var problems = ReadJsonLines("mbcsp_release_v1.2.jsonl").ToDictionary(p => p.GetProperty("task_id").GetString()!);
        _programs = Completions == "references"
            ? problems.Values.Where(p => p.GetProperty("canonical_solution").ValueKind == JsonValueKind.String)
                .Select(p => (Text(p, "prompt"), Text(p, "canonical_solution"), Text(p, "test"))).ToArray()
            : ReadJsonLines("mbcsp_samples.jsonl")
                .Select(s => (Problem: problems[Text(s, "task_id")], Completion: Text(s, "completion")))
                .Select(x => (Text(x.Problem, "prompt"), x.Completion, Text(x.Problem, "test")))
                .ToArray();
        _verifier = new CodeVerifier(new CodeVerifierOptions { Workers = Workers, CacheSize = 0 });
        // Start the workers and JIT the compiler before measuring.
        Task.WhenAll(_programs.Take(2 * Workers).Select(Score)).GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = ProgramsPerInvocation)]
    public async Task<double> ScorePrograms()
    {
        var batch = Enumerable.Range(0, ProgramsPerInvocation).Select(_ => _programs[_next++ % _programs.Length]);
        var results = await Task.WhenAll(batch.Select(Score));
        return results.Sum(r => r.Score);
    }

    [GlobalCleanup]
    public void Cleanup() => _verifier.Dispose();

    Task<CodeResult> Score((string Prompt, string Completion, string Test) program) =>
        _verifier.VerifyMbxpAsync(program.Prompt, program.Completion, program.Test);

    static string Text(JsonElement row, string field) => row.GetProperty(field).GetString()!;

    static IEnumerable<JsonElement> ReadJsonLines(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "..", "shared", "data", "mbxp-csharp", file);
            if (File.Exists(Path.Combine(dir.FullName, "Grpo.sln")) && File.Exists(path))
                return File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement);
        }
        throw new FileNotFoundException($"The code reward benchmark reads ../shared/data/mbxp-csharp/{file} beside the repository.");
    }
}
