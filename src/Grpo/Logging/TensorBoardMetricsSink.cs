namespace Grpo.Logging;

/// <summary>
/// Writes the metrics as TensorBoard scalars: an event file (<c>events.out.tfevents.{unix seconds}.{host}</c>) in the
/// log folder that <c>tensorboard --logdir</c> reads, one event per step holding every metric under its TRL name as
/// the tag. Written by this library's own small encoder (<see cref="TfRecord"/>, <see cref="TensorBoardEvent"/>); no
/// protobuf or TensorFlow dependency.
/// </summary>
/// <remarks>
/// Event files cannot be cut back like a text log, so each <see cref="Open"/> starts a new file whose second event is
/// TensorBoard's restart marker (a <c>SessionLog</c> START, <see cref="TensorBoardEvent.Start"/>): on resume from step
/// N it is at step N + 1 and TensorBoard drops the later steps of the abandoned attempt from the older files; for a
/// new run it is at step 0 and hides any earlier run left in the same folder. A new run writes it too, not only a
/// resumed one, because TensorBoard ignores the first START it sees in a folder and purges only on later ones. Each
/// step's record is written in one call and flushed, so a kill leaves at most one torn record at the end of the file,
/// which TensorBoard's CRC check stops at.
/// </remarks>
public sealed class TensorBoardMetricsSink : IMetricsSink
{
    private readonly SinkCallOrder _order = new(nameof(TensorBoardMetricsSink));
    private FileStream? _file;
    private bool _disposed;

    /// <summary>
    /// A sink that will write into <paramref name="logDir"/> (created at <see cref="Open"/> if missing). A resumed run
    /// must use the same folder as the attempt it continues: TensorBoard treats each folder as its own run and applies
    /// the restart marker only within it, so not a new timestamped folder per launch.
    /// </summary>
    public TensorBoardMetricsSink(string logDir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logDir);
        LogDir = Path.GetFullPath(logDir);
    }

    /// <summary>The folder the event files go into; point <c>tensorboard --logdir</c> at it or at a folder above it.</summary>
    public string LogDir { get; }

    /// <summary>The event file this sink writes, once open.</summary>
    public string? FilePath => _file?.Name;

    /// <summary>Creates a new event file with the version record and the restart marker described on the class.</summary>
    public void Open(int startStep)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _order.Open(startStep);
        Directory.CreateDirectory(LogDir);
        var now = DateTimeOffset.UtcNow;
        _file = CreateEventFile(now.ToUnixTimeSeconds());
        Append(TensorBoardEvent.Version(UnixSeconds(now)));
        Append(TensorBoardEvent.Start(UnixSeconds(now), startStep == 0 ? 0 : startStep + 1));
    }

    /// <summary>Appends one event with the step's scalars and flushes it; <c>metrics["step"]</c>, when present, must equal <paramref name="step"/> and is not logged as a scalar.</summary>
    public void Write(int step, IReadOnlyDictionary<string, double> metrics)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _order.Next(step, metrics);
        Append(TensorBoardEvent.Scalars(UnixSeconds(DateTimeOffset.UtcNow), step, metrics.Where(m => m.Key != SinkCallOrder.StepKey)));
    }

    /// <summary>Closes the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _file?.Dispose();
    }

    private void Append(byte[] eventBytes)
    {
        _file!.Write(TfRecord.Frame(eventBytes));
        _file.Flush();
    }

    /// <summary>TensorBoard's wall_time: seconds since the Unix epoch, as a double (not .NET ticks).</summary>
    private static double UnixSeconds(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).TotalSeconds;

    /// <summary>
    /// The file name TensorFlow's writer uses; a second file opened in the same second gets <c>.1</c>, <c>.2</c> ...,
    /// which sorts after the first, as TensorBoard reads files in name order and the restart marker relies on it.
    /// </summary>
    private FileStream CreateEventFile(long unixSeconds)
    {
        var name = Path.Combine(LogDir, $"events.out.tfevents.{unixSeconds}.{Environment.MachineName}");
        for (var attempt = 0; ; attempt++)
        {
            var path = attempt == 0 ? name : $"{name}.{attempt}";
            try
            {
                return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0);
            }
            catch (IOException) when (File.Exists(path))
            {
            }
        }
    }
}
