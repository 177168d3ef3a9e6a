namespace Grpo.Rewards.Code;

/// <summary>The verdict on one completion: its score and why.</summary>
/// <param name="Score">The fraction of tests passed, in [0, 1]; an MBXP program is one test.</param>
/// <param name="Reason">Why: "passed", the failing test and its exception, the compiler's errors, the rejected API, the limit hit.</param>
/// <param name="Compiled">Whether the program compiled and passed the API check (what <see cref="CodeCompilesReward"/> rewards).</param>
/// <param name="Passed">Tests passed.</param>
/// <param name="Total">Tests run or attempted; 0 when the program never ran.</param>
public sealed record CodeResult(double Score, string Reason, bool Compiled, int Passed, int Total)
{
    internal static CodeResult NotRun(string reason, bool compiled = false) => new(0, reason, compiled, 0, 0);
}
