namespace Grpo.Rewards.Code.Tests;

/// <summary>
/// The verifiers the tests share, so their worker processes start once: one with the default API check, and one
/// without it, to prove that the process limits alone contain a program that really calls Environment.Exit.
/// </summary>
public sealed class VerifierFixture : IDisposable
{
    // Short enough that the infinite-loop tests stay quick, long enough for a loaded build machine.
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public CodeVerifier Checked { get; } = new(new CodeVerifierOptions { Timeout = Timeout, Workers = 2 });

    public CodeVerifier Unchecked { get; } = new(new CodeVerifierOptions { Timeout = Timeout, Workers = 2, CheckApis = false, MemoryLimitBytes = 256L << 20, OutputLimitChars = 100_000 });

    public void Dispose()
    {
        Checked.Dispose();
        Unchecked.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class VerifierCollection : ICollectionFixture<VerifierFixture>
{
    public const string Name = "verifier";
}
