using Microsoft.Extensions.AI;

namespace Grpo.Tools;

/// <summary>
/// What a completion holds, as a <see cref="ToolCallParser"/> read it: the text it says, the tool calls it
/// completed, and whether it ends inside a call that never closed (generation stopped by the length limit).
/// </summary>
/// <param name="Content">The completion's text outside its tool calls (see each parser for which part).</param>
/// <param name="Calls">
/// Each complete call in order, with call ids <c>call_0</c>, <c>call_1</c>, ...; a call whose JSON is malformed or
/// lacks a name has an empty or partial <see cref="FunctionCallContent.Arguments"/> and its error in
/// <see cref="FunctionCallContent.Exception"/>, which Microsoft.Extensions.AI's function invocation reports to the
/// model instead of calling the function.
/// </param>
/// <param name="UnclosedCallAt">
/// The index in the completion where a call starts that never ends, or null. Its text is not in
/// <paramref name="Content"/> nor a call.
/// </param>
public sealed record ParsedToolCalls(string Content, IReadOnlyList<FunctionCallContent> Calls, int? UnclosedCallAt)
{
    /// <summary>Whether the completion ends inside a tool call.</summary>
    public bool HasUnclosedCall => UnclosedCallAt is not null;

    /// <summary>The calls that could not be read, each with its error.</summary>
    public IEnumerable<FunctionCallContent> Malformed => Calls.Where(call => call.Exception is not null);
}
