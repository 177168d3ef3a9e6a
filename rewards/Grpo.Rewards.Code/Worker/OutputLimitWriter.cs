using System.Text;

namespace Grpo.Rewards.Code.Worker;

/// <summary>
/// The console of a program in the worker: it counts characters and discards them (no test reads output), and once
/// the limit is passed it throws, so a program that floods the console stops quickly and fails.
/// </summary>
internal sealed class OutputLimitWriter : TextWriter
{
    long _written;
    long _limit;

    /// <summary>Whether the current program wrote more than its limit (it fails even if it caught the exception).</summary>
    public bool Exceeded { get; private set; }

    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>Starts counting afresh for the next test method.</summary>
    public void Reset(long limit)
    {
        _written = 0;
        _limit = limit;
        Exceeded = false;
    }

    public override void Write(char value) => Count(1);

    public override void Write(char[] buffer, int index, int count) => Count(count);

    public override void Write(ReadOnlySpan<char> buffer) => Count(buffer.Length);

    public override void Write(string? value) => Count(value?.Length ?? 0);

    void Count(int chars)
    {
        _written += chars;
        if (_written <= _limit)
            return;
        Exceeded = true;
        throw new InvalidOperationException($"output limit exceeded: the program wrote more than {_limit} characters");
    }
}
