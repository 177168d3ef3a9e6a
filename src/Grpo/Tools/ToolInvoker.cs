using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Grpo.Tools;

/// <summary>One tool call and what it gave the model: the function's result, or <c>{"error": message}</c> when it failed.</summary>
/// <param name="Call">The call as the model wrote it.</param>
/// <param name="Result">The function's return value, or the error object the model is shown instead.</param>
/// <param name="Failed">Whether the call failed (TRL counts these for <c>tools/failure_frequency</c>).</param>
public sealed record ToolReply(FunctionCallContent Call, object? Result, bool Failed);

/// <summary>
/// Runs the tool calls of one assistant turn, one after another in the order written, each on the thread pool with a
/// timeout and a cancellation token. Model output and tools are untrusted: an unknown name, arguments the parser could
/// not read or the function rejects, an exception or a timeout becomes the reply <c>{"error": "..."}</c>, as TRL's
/// tool loop gives the model <c>{"error": str(e)}</c>; nothing here throws but cancellation of the whole rollout.
/// </summary>
internal static class ToolInvoker
{
    /// <summary>The replies to <paramref name="calls"/>, in order, using the functions in <paramref name="tools"/> by name.</summary>
    public static async Task<ToolReply[]> InvokeAsync(IReadOnlyList<FunctionCallContent> calls, IReadOnlyDictionary<string, AIFunction> tools,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var replies = new ToolReply[calls.Count];
        for (int i = 0; i < calls.Count; i++)
            replies[i] = await InvokeAsync(calls[i], tools, timeout, cancellationToken).ConfigureAwait(false);
        return replies;
    }

    private static async Task<ToolReply> InvokeAsync(FunctionCallContent call, IReadOnlyDictionary<string, AIFunction> tools,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (call.Exception is not null) return Error(call, call.Exception.Message);
        if (!tools.TryGetValue(call.Name, out var function))
            return Error(call, $"Tool {call.Name} not found; the tools are: {string.Join(", ", tools.Keys)}.");
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The pool thread keeps a synchronous tool off the decode loop; WaitAsync abandons one that ignores its token.
        // The clock starts when the tool does, so time spent queued for a pool thread under load is not billed to it.
        var invocation = Task.Run(() =>
        {
            timer.CancelAfter(timeout);
            started.TrySetResult();
            return function.InvokeAsync(new AIFunctionArguments(call.Arguments), timer.Token).AsTask();
        }, cancellationToken);
        try
        {
            await started.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            var result = await invocation.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            // AIFunctionFactory returns results as JSON; a string reaches the model as its text, as TRL's str(result) does.
            return new ToolReply(call, result is JsonElement { ValueKind: JsonValueKind.String } text ? text.GetString() : result, Failed: false);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            return Error(call, $"Tool {call.Name} did not finish within {timeout.TotalSeconds:0.###} s.");
        }
        catch (Exception e)
        {
            return Error(call, e.Message);
        }
    }

    private static ToolReply Error(FunctionCallContent call, string message) =>
        new(call, new Dictionary<string, object?> { ["error"] = message }, Failed: true);
}
