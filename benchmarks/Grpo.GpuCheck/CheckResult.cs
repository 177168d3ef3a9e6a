namespace Grpo.GpuCheck;

/// <summary>
/// One pass/fail comparison: the largest difference <paramref name="Measured"/> found against the
/// <paramref name="Tolerance"/> it must stay within (≤), and what was compared with what.
/// </summary>
internal sealed record CheckResult(string Name, double Measured, double Tolerance, string Detail)
{
    /// <summary>True when the measured difference is finite and within the tolerance.</summary>
    public bool Passed => double.IsFinite(Measured) && Measured <= Tolerance;
}
