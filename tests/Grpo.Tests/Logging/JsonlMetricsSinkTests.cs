using System.Text;
using System.Text.Json;
using Grpo.Logging;
using Grpo.Tests.Modeling;

namespace Grpo.Tests.Logging;

public sealed class JsonlMetricsSinkTests : IDisposable
{
    private readonly string _directory = TestModels.TempFolder();
    private string MetricsPath => Path.Combine(_directory, "metrics.jsonl");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void WritesStepFirstThenMetricsInOrderWithRoundTrippableNumbers()
    {
        using (var sink = new JsonlMetricsSink(MetricsPath))
        {
            sink.Open(0);
            sink.Write(3, new Dictionary<string, double>
            {
                ["step"] = 3, ["reward"] = 0.1, ["loss"] = -2.5, ["rewards/math_answer/mean"] = 1.0 / 3, ["num_tokens"] = 123456789,
            });
        }
        Assert.Equal("{\"step\":3,\"reward\":0.1,\"loss\":-2.5,\"rewards/math_answer/mean\":0.3333333333333333,\"num_tokens\":123456789}\n",
            File.ReadAllText(MetricsPath));
    }

    [Fact]
    public void EveryDoubleReadsBackExactly()
    {
        double[] values = [Math.PI, 1e-300, 5e-324, double.MaxValue, -0.1 * 3, 2.0 / 3 * 1e17];
        using (var sink = new JsonlMetricsSink(MetricsPath))
        {
            sink.Open(0);
            sink.Write(1, values.Select((v, i) => KeyValuePair.Create($"m{i}", v)).ToDictionary());
        }
        using var json = JsonDocument.Parse(File.ReadAllText(MetricsPath));
        for (var i = 0; i < values.Length; i++) Assert.Equal(values[i], json.RootElement.GetProperty($"m{i}").GetDouble());
    }

    [Fact]
    public void NonFiniteValuesBecomeNullSoTheLineStaysJson()
    {
        using (var sink = new JsonlMetricsSink(MetricsPath))
        {
            sink.Open(0);
            sink.Write(1, new Dictionary<string, double> { ["a"] = double.NaN, ["b"] = double.PositiveInfinity, ["c"] = double.NegativeInfinity, ["d"] = 1 });
        }
        Assert.Equal("{\"step\":1,\"a\":null,\"b\":null,\"c\":null,\"d\":1}\n", File.ReadAllText(MetricsPath));
    }

    [Fact]
    public void EachLineIsCompleteOnDiskWhenWriteReturns()
    {
        using var sink = new JsonlMetricsSink(MetricsPath);
        sink.Open(0);
        for (var step = 1; step <= 3; step++)
        {
            sink.Write(step, new Dictionary<string, double> { ["reward"] = step / 4.0 });
            var text = ReadShared(MetricsPath);
            Assert.EndsWith("\n", text);
            var lines = text.TrimEnd('\n').Split('\n');
            Assert.Equal(step, lines.Length);
            Assert.Equal(step, JsonDocument.Parse(lines[^1]).RootElement.GetProperty("step").GetInt32());
        }
    }

    [Fact]
    public void ResumeKeepsCompleteLinesUpToTheCheckpointAndDropsTornGluedAndLaterOnes()
    {
        const string Kept = "{\"step\":1,\"reward\":0.5}\n{\"step\":2,\"reward\":0.25,\"kl\":null}\n{\"step\":3,\"reward\":1}\n";
        const string Abandoned =
            "{\"step\":4,\"re{\"step\":5,\"reward\":0}\n"   // a torn line glued to the next, as the old trainer left them
            + "{\"step\":5,\"reward\":0}\n{\"step\":6,\"reward\":9}\n"
            + "{\"step\":7,\"rew";                             // torn by a kill mid-write
        File.WriteAllText(MetricsPath, Kept + Abandoned);
        File.WriteAllText(MetricsPath + ".tmp", "left by a kill during an earlier Open");

        using (var sink = new JsonlMetricsSink(MetricsPath))
        {
            sink.Open(3);
            Assert.Equal(Kept, ReadShared(MetricsPath));
            sink.Write(4, new Dictionary<string, double> { ["reward"] = 0.75 });
        }
        Assert.Equal(Kept + "{\"step\":4,\"reward\":0.75}\n", File.ReadAllText(MetricsPath));
        Assert.False(File.Exists(MetricsPath + ".tmp"));
    }

    [Fact]
    public void ResumeWithNothingToDropLeavesTheFileAsItWas()
    {
        const string Lines = "{\"step\":1,\"reward\":0.5}\n{\"step\":2,\"reward\":0.25}\n";
        File.WriteAllText(MetricsPath, Lines);
        using var sink = new JsonlMetricsSink(MetricsPath);
        sink.Open(2);
        Assert.Equal(Lines, ReadShared(MetricsPath));
        Assert.Throws<ArgumentOutOfRangeException>(() => sink.Write(2, new Dictionary<string, double>()));
    }

    [Fact]
    public void NewRunStartsAnEmptyFileAndCreatesItsFolder()
    {
        var nested = Path.Combine(_directory, "run", "metrics.jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(nested)!);
        File.WriteAllText(nested, "{\"step\":0,\"eval_accuracy\":0.1}\n{\"step\":1,\"reward\":0.5}\n");
        using (var sink = new JsonlMetricsSink(nested))
        {
            sink.Open(0);
            Assert.Equal("", ReadShared(nested));
            sink.Write(0, new Dictionary<string, double> { ["eval_accuracy"] = 0.2 });
        }
        Assert.Equal("{\"step\":0,\"eval_accuracy\":0.2}\n", File.ReadAllText(nested));

        var fresh = Path.Combine(_directory, "new", "deeper", "metrics.jsonl");
        using var other = new JsonlMetricsSink(fresh);
        other.Open(0);
        Assert.True(File.Exists(fresh));
    }

    [Fact]
    public void CallsOutOfOrderFailWithAClearMessage()
    {
        using var sink = new JsonlMetricsSink(MetricsPath);
        Assert.Contains("call Open", Assert.Throws<InvalidOperationException>(() => sink.Write(1, new Dictionary<string, double>())).Message);
        sink.Open(0);
        sink.Write(2, new Dictionary<string, double>());
        Assert.Contains("not after step 2", Assert.Throws<ArgumentOutOfRangeException>(() => sink.Write(2, new Dictionary<string, double>())).Message);
        Assert.Throws<ArgumentException>(() => sink.Write(3, new Dictionary<string, double> { ["step"] = 4 }));
        Assert.Throws<ArgumentException>(() => new JsonlMetricsSink(" "));
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
