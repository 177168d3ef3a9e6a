using System.IO.Compression;
using System.Text.Json;
using Grpo.Tokenization;

namespace Grpo.Benchmarks;

/// <summary>
/// The Qwen3 tokenizer and its 265 reference rows (22,561 tokens: GSM8K questions and answers, code, maths, CJK,
/// emoji), read from the test project's fixtures.
/// </summary>
static class Qwen3Reference
{
    public const int TokenCount = 22_561;

    static string FixtureDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "Grpo.sln")))
                return Path.Combine(directory.FullName, "tests", "Grpo.Tests", "Fixtures", "qwen3-tokenizer");
        throw new DirectoryNotFoundException($"No Grpo.sln above {AppContext.BaseDirectory}; run the benchmarks from the repository.");
    }

    public static HfTokenizer LoadTokenizer()
    {
        var tokenizerJson = Path.Combine(Path.GetTempPath(), $"grpo-bench-qwen3-{Environment.ProcessId}.json");
        using (var gzip = new GZipStream(File.OpenRead(Path.Combine(FixtureDirectory(), "tokenizer.json.gz")), CompressionMode.Decompress))
        using (var file = File.Create(tokenizerJson))
            gzip.CopyTo(file);
        try { return HfTokenizer.FromFile(tokenizerJson); }
        finally { File.Delete(tokenizerJson); }
    }

    public static (string[] Texts, int[][] Ids) LoadRows()
    {
        var rows = File.ReadLines(Path.Combine(FixtureDirectory(), "reference-encodings.jsonl")).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        return (rows.Select(r => r.GetProperty("text").GetString()!).ToArray(),
                rows.Select(r => r.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()).ToArray()).ToArray());
    }
}
