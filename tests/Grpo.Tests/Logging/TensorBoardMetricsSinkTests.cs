using System.Text;
using Grpo.Logging;
using Grpo.Tests.Modeling;

namespace Grpo.Tests.Logging;

public sealed class TensorBoardMetricsSinkTests : IDisposable
{
    private readonly string _directory = TestModels.TempFolder();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void ReferenceCrcMatchesTheStandardCheckValueAndSoDoesTheWriters()
    {
        var check = Encoding.ASCII.GetBytes("123456789");
        Assert.Equal(0xE3069283u, Crc32CReference.Compute(check));
        Assert.Equal(0xE3069283u, TfRecord.Crc32C(check));
        Assert.Equal(0u, Crc32CReference.Compute([]));
    }

    [Fact]
    public void WritesVersionThenRestartMarkerThenOneScalarEventPerStep()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        string path;
        using (var sink = new TensorBoardMetricsSink(_directory))
        {
            sink.Open(0);
            sink.Write(1, new Dictionary<string, double> { ["step"] = 1, ["reward"] = 0.5, ["clip_ratio/low_mean"] = 0.125, ["kl"] = 1.0 / 3 });
            sink.Write(2, new Dictionary<string, double> { ["reward"] = -2.75, ["eval_accuracy"] = double.NaN });
            path = sink.FilePath!;
        }
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

        var records = EventFileReader.Read(path);
        Assert.Equal(4, records.Count);
        // Unix seconds, not .NET ticks (which would be about 6.4e17 today).
        Assert.All(records, r => Assert.InRange(r.WallTime, before - 1, after + 1));
        Assert.Equal("brain.Event:2", records[0].FileVersion);
        Assert.Equal((1, 0L), (records[1].SessionStatus!.Value, records[1].Step));
        Assert.Equal(1, records[2].Step);
        Assert.Equal([("reward", 0.5f), ("clip_ratio/low_mean", 0.125f), ("kl", (float)(1.0 / 3))], records[2].Scalars);
        Assert.Equal(2, records[3].Step);
        Assert.Equal("reward", records[3].Scalars[0].Tag);
        Assert.Equal(-2.75f, records[3].Scalars[0].Value);
        Assert.Equal("eval_accuracy", records[3].Scalars[1].Tag);
        Assert.True(float.IsNaN(records[3].Scalars[1].Value));
        Assert.All(records.Skip(2), r => Assert.Null(r.SessionStatus));
    }

    [Fact]
    public void ResumeWritesTheRestartMarkerOneStepPastTheCheckpoint()
    {
        using var sink = new TensorBoardMetricsSink(_directory);
        sink.Open(5);
        Assert.Throws<ArgumentOutOfRangeException>(() => sink.Write(5, new Dictionary<string, double> { ["reward"] = 1 }));
        sink.Write(6, new Dictionary<string, double> { ["reward"] = 1 });

        var records = EventFileReader.Read(sink.FilePath!);
        Assert.Equal("brain.Event:2", records[0].FileVersion);
        Assert.Equal(1, records[1].SessionStatus);
        Assert.Equal(6, records[1].Step);
        Assert.Equal(6, records[2].Step);
    }

    [Fact]
    public void AfterAResumeTensorBoardShowsEachStepOnceFromTheAttemptThatKeptIt()
    {
        using (var crashed = new TensorBoardMetricsSink(_directory))
        {
            crashed.Open(0);
            for (var step = 1; step <= 8; step++) crashed.Write(step, new Dictionary<string, double> { ["reward"] = step });
        }
        // The last checkpoint was step 5: steps 6 to 8 of the first attempt are redone by the resumed run.
        using (var resumed = new TensorBoardMetricsSink(_directory))
        {
            resumed.Open(5);
            for (var step = 6; step <= 7; step++) resumed.Write(step, new Dictionary<string, double> { ["reward"] = 10 * step });
        }
        Assert.Equal([(1, 1f), (2, 2f), (3, 3f), (4, 4f), (5, 5f), (6, 60f), (7, 70f)], TensorBoardLoader.Scalars(_directory, "reward"));
    }

    [Fact]
    public void EachOpenStartsItsOwnFileNamedAsTensorFlowNamesThem()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var first = new TensorBoardMetricsSink(_directory);
        using var second = new TensorBoardMetricsSink(_directory);
        first.Open(0);
        second.Open(3);
        var after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        Assert.NotEqual(first.FilePath, second.FilePath);
        var parts = Path.GetFileName(first.FilePath!).Split('.', 5);
        Assert.Equal(["events", "out", "tfevents"], parts[..3]);
        Assert.InRange(long.Parse(parts[3]), before, after);
        Assert.StartsWith(Environment.MachineName, parts[4]);
        Assert.Equal(2, Directory.GetFiles(_directory, "events.out.tfevents.*").Length);
        Assert.Equal(3 + 1, EventFileReader.Read(second.FilePath!)[1].Step);
    }

    [Fact]
    public void EachStepIsOnDiskWhenWriteReturns()
    {
        using var sink = new TensorBoardMetricsSink(_directory);
        sink.Open(0);
        sink.Write(1, new Dictionary<string, double> { ["loss"] = 0.25 });
        // Read while the sink still holds the file open: nothing waits in a buffer.
        var bytes = ReadShared(sink.FilePath!);
        var records = EventFileReader.Records(bytes);
        Assert.Equal(3, records.Count);
        Assert.Equal([("loss", 0.25f)], EventFileReader.Read(sink.FilePath!)[2].Scalars);
    }

    [Fact]
    public void ReaderRejectsACorruptedRecordSoItsCrcCheckMeansSomething()
    {
        string path;
        using (var sink = new TensorBoardMetricsSink(_directory))
        {
            sink.Open(0);
            sink.Write(1, new Dictionary<string, double> { ["reward"] = 0.5 });
            path = sink.FilePath!;
        }
        var bytes = File.ReadAllBytes(path);
        bytes[^6] ^= 0x01;
        Assert.Contains("data CRC mismatch", Assert.Throws<InvalidDataException>(() => EventFileReader.Records(bytes)).Message);
        Assert.Throws<InvalidDataException>(() => EventFileReader.Records(bytes[..^3]));
    }

    [Fact]
    public void CallsOutOfOrderFailWithAClearMessage()
    {
        using var sink = new TensorBoardMetricsSink(_directory);
        Assert.Contains("call Open", Assert.Throws<InvalidOperationException>(() => sink.Write(1, new Dictionary<string, double>())).Message);
        sink.Open(0);
        Assert.Contains("already open", Assert.Throws<InvalidOperationException>(() => sink.Open(0)).Message);
        Assert.Contains("metrics[\"step\"] is 2",
            Assert.Throws<ArgumentException>(() => sink.Write(1, new Dictionary<string, double> { ["step"] = 2 })).Message);
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
