namespace Grpo.Rewards.Code.Compilation;

/// <summary>A program ready to run (its assembly image and the test methods to call), or why it will not run.</summary>
/// <param name="Image">The compiled assembly; null when compilation or a check failed.</param>
/// <param name="EntryType">The type that declares the test methods, as Assembly.GetType names it.</param>
/// <param name="Methods">The static test methods, run in order; each is one test.</param>
/// <param name="Failure">Compiler errors or the check that rejected the program; null on success.</param>
internal sealed record CompiledProgram(byte[]? Image, string EntryType, IReadOnlyList<string> Methods, string? Failure)
{
    public static CompiledProgram Failed(string reason) => new(null, "", [], reason);
}
