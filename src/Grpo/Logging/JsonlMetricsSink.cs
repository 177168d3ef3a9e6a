using System.Text.Encodings.Web;
using System.Text.Json;

namespace Grpo.Logging;

/// <summary>
/// Writes <c>metrics.jsonl</c>: one JSON object per step, <c>{"step": N, ...}</c>, then the metrics under TRL's names in
/// the order given. Numbers are written in the shortest form that reads back to the same double; NaN and ±Infinity,
/// which JSON cannot hold, are written as <c>null</c>.
/// </summary>
/// <remarks>
/// Each line goes to the file in one unbuffered write of the whole line, newline included, so a process killed at any
/// moment leaves complete lines plus at most one torn last line, never a partial line glued to the next one.
/// <see cref="Open"/> then makes the file agree with the checkpoint being resumed: it keeps the complete lines of steps
/// up to <c>startStep</c> and drops the rest (a torn line, steps of an attempt that did not reach a checkpoint), by
/// writing a temporary file and renaming it over the old one, so a kill during <see cref="Open"/> loses nothing.
/// </remarks>
public sealed class JsonlMetricsSink : IMetricsSink
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly SinkCallOrder _order = new(nameof(JsonlMetricsSink));
    private FileStream? _file;
    private bool _disposed;

    /// <summary>A sink that will write to <paramref name="path"/> (usually <c>OUTPUT/metrics.jsonl</c>); nothing is touched before <see cref="Open"/>.</summary>
    public JsonlMetricsSink(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    /// <summary>The full path of the file written.</summary>
    public string Path { get; }

    /// <summary>
    /// Opens the file for appending after keeping only what <paramref name="startStep"/> vouches for: on resume the
    /// complete lines of steps up to it; for a new run (0) nothing, since a new run has done no step.
    /// </summary>
    public void Open(int startStep)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _order.Open(startStep);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        if (File.Exists(Path)) KeepStepsUpTo(startStep);
        // bufferSize 0: each Write call is one write to the operating system, not a flush of a partly filled buffer.
        _file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
    }

    /// <summary>Appends the step's line and flushes it; <c>metrics["step"]</c>, when present, must equal <paramref name="step"/> and is written once.</summary>
    public void Write(int step, IReadOnlyDictionary<string, double> metrics)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _order.Next(step, metrics);
        var line = new MemoryStream();
        using (var json = new Utf8JsonWriter(line, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteNumber(SinkCallOrder.StepKey, step);
            foreach (var (name, value) in metrics)
            {
                if (name == SinkCallOrder.StepKey) continue;
                if (double.IsFinite(value)) json.WriteNumber(name, value);
                else json.WriteNull(name);
            }
            json.WriteEndObject();
        }
        line.WriteByte((byte)'\n');
        _file!.Write(line.GetBuffer(), 0, (int)line.Length);
        _file.Flush();
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _file?.Dispose();
    }

    private void KeepStepsUpTo(int startStep)
    {
        var bytes = File.ReadAllBytes(Path);
        var kept = new MemoryStream();
        var dropped = false;
        var start = 0;
        while (start < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0) { dropped = true; break; } // a torn last line: the write it came from never finished
            var line = bytes.AsMemory(start, end + 1 - start);
            if (startStep > 0 && StepOf(line) is { } step && step <= startStep) kept.Write(line.Span);
            else dropped = true;
            start = end + 1;
        }
        if (!dropped) return;
        var temporary = Path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            kept.Position = 0;
            kept.CopyTo(file);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, Path, overwrite: true);
    }

    /// <summary>The step of one complete line, or null for a line that is not a metrics object (glued or corrupt).</summary>
    private static int? StepOf(ReadOnlyMemory<byte> line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty(SinkCallOrder.StepKey, out var step)
                && step.ValueKind == JsonValueKind.Number && step.TryGetInt32(out var value)
                ? value : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
