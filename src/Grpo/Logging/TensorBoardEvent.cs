namespace Grpo.Logging;

/// <summary>
/// The <c>tensorflow.Event</c> protocol buffers a scalar log needs, encoded by hand with the field numbers of
/// tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto (TensorBoard keeps copies of both
/// under tensorboard/compat/proto):
/// <code>
/// Event      { double wall_time = 1; int64 step = 2;
///              oneof what { string file_version = 3; Summary summary = 5; SessionLog session_log = 7; } }
/// Summary    { repeated Value value = 1; }
/// Value      { string tag = 1; float simple_value = 2; }
/// SessionLog { SessionStatus status = 1; }   // START = 1
/// </code>
/// </summary>
internal static class TensorBoardEvent
{
    /// <summary>The version string of the first record; TensorBoard's purge of a restarted run needs version 2 or later.</summary>
    public const string FileVersion = "brain.Event:2";

    private const int WallTimeField = 1, StepField = 2, FileVersionField = 3, SummaryField = 5, SessionLogField = 7;
    private const int SummaryValueField = 1, TagField = 1, SimpleValueField = 2;
    private const int SessionStatusField = 1, SessionStart = 1;

    /// <summary>The first event of every file: when it was opened and which format it holds.</summary>
    public static byte[] Version(double wallTime)
    {
        var e = new ProtoWriter();
        e.Double(WallTimeField, wallTime);
        e.String(FileVersionField, FileVersion);
        return e.Written.ToArray();
    }

    /// <summary>
    /// A <c>SessionLog</c> with status START at <paramref name="step"/>. TensorBoard's event accumulator (with its
    /// default <c>purge_orphaned_data</c>, in files of version 2) takes the first START of a run as its beginning and
    /// every later one as a restart: it discards each event at this step or later that it read before, which is how a
    /// restarted run hides the steps of the attempt it replaces.
    /// </summary>
    public static byte[] Start(double wallTime, long step)
    {
        var log = new ProtoWriter();
        log.Varint(SessionStatusField, SessionStart);
        var e = new ProtoWriter();
        e.Double(WallTimeField, wallTime);
        e.Varint(StepField, (ulong)step);
        e.Message(SessionLogField, log);
        return e.Written.ToArray();
    }

    /// <summary>One event holding every scalar of a step, each as a <c>simple_value</c> (float32, as TensorBoard stores scalars).</summary>
    public static byte[] Scalars(double wallTime, long step, IEnumerable<KeyValuePair<string, double>> values)
    {
        var summary = new ProtoWriter();
        foreach (var (tag, value) in values)
        {
            var v = new ProtoWriter();
            v.String(TagField, tag);
            v.Float(SimpleValueField, (float)value);
            summary.Message(SummaryValueField, v);
        }
        var e = new ProtoWriter();
        e.Double(WallTimeField, wallTime);
        e.Varint(StepField, (ulong)step);
        e.Message(SummaryField, summary);
        return e.Written.ToArray();
    }
}
