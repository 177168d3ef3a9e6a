using System.Diagnostics;

namespace Grpo.Rewards.Code.Worker;

/// <summary>
/// Turns a failed <c>Debug.Assert</c> or <c>Trace.Assert</c> into an exception. Left alone, .NET ends the whole
/// process on a failed assertion, which would cost a list's remaining tests their chance to run.
/// </summary>
internal sealed class AssertFailureListener : TraceListener
{
    public override void Fail(string? message, string? detailMessage) =>
        throw new AssertionFailedException(string.IsNullOrEmpty(message) ? "assertion failed" : $"assertion failed: {message}");

    public override void Write(string? message) { }

    public override void WriteLine(string? message) { }
}

/// <summary>A failed Debug.Assert or Trace.Assert in a program.</summary>
internal sealed class AssertionFailedException(string message) : Exception(message);
