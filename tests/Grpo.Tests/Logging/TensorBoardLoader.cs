namespace Grpo.Tests.Logging;

/// <summary>
/// What TensorBoard shows for one run folder, following its Python loader (tensorboard/backend/event_processing:
/// DirectoryWatcher reads the <c>tfevents</c> files in name order; plugin_event_accumulator, with the default
/// <c>purge_orphaned_data</c> and a file version of 2 or more, takes the first SessionLog START as the run's beginning
/// and on every later START drops the events read so far whose step is at or past the START's step).
/// </summary>
internal static class TensorBoardLoader
{
    public static List<(long Step, float Value)> Scalars(string runFolder, string tag)
    {
        var kept = new List<(long Step, float Value)>();
        var version = 0.0;
        var seenStart = false;
        var files = Directory.GetFiles(runFolder).Where(f => Path.GetFileName(f).Contains("tfevents")).Order(StringComparer.Ordinal);
        foreach (var record in files.SelectMany(EventFileReader.Read))
        {
            if (record.FileVersion is { } v) version = double.Parse(v[(v.IndexOf(':') + 1)..]);
            if (record.SessionStatus == 1 && version >= 2)
            {
                if (seenStart) kept.RemoveAll(e => e.Step >= record.Step);
                seenStart = true;
            }
            kept.AddRange(record.Scalars.Where(s => s.Tag == tag).Select(s => (record.Step, s.Value)));
        }
        return kept;
    }
}
