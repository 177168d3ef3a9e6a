using System.IO.Compression;
using System.Text.Json;
using Grpo.Tokenization;

namespace Grpo.Tests.Tokenization;

/// <summary>
/// The real Qwen3 tokenizer (tokenizer.json stored gzipped, unpacked into a temporary model folder) and its
/// reference encodings, which transformers.js computed independently of this code. Loaded once per test run.
/// </summary>
public sealed class Qwen3Fixture : IDisposable
{
    public static readonly string FixtureDirectory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "qwen3-tokenizer");

    public string ModelDirectory { get; } = Directory.CreateTempSubdirectory("grpo-qwen3-").FullName;
    public HfTokenizer Tokenizer { get; }
    public IReadOnlyList<(string Text, int[] Ids)> Reference { get; }

    public Qwen3Fixture()
    {
        using (var gzip = new GZipStream(File.OpenRead(Path.Combine(FixtureDirectory, "tokenizer.json.gz")), CompressionMode.Decompress))
        using (var file = File.Create(Path.Combine(ModelDirectory, "tokenizer.json")))
            gzip.CopyTo(file);
        File.Copy(Path.Combine(FixtureDirectory, "tokenizer_config.json"), Path.Combine(ModelDirectory, "tokenizer_config.json"));
        Tokenizer = HfTokenizer.FromDirectory(ModelDirectory);

        Reference = File.ReadLines(Path.Combine(FixtureDirectory, "reference-encodings.jsonl"))
            .Select(line => JsonDocument.Parse(line).RootElement)
            .Select(row => (row.GetProperty("text").GetString()!, row.GetProperty("ids").EnumerateArray().Select(id => id.GetInt32()).ToArray()))
            .ToList();
    }

    public void Dispose() => Directory.Delete(ModelDirectory, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class Qwen3Collection : ICollectionFixture<Qwen3Fixture>
{
    public const string Name = "Qwen3 tokenizer";
}
