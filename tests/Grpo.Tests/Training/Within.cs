namespace Grpo.Tests.Training;

/// <summary>Compares doubles up to an absolute tolerance (NaN equals NaN), for <c>Assert.Equal</c> on arrays.</summary>
internal sealed class Within(double tolerance) : IEqualityComparer<double>
{
    public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance || (double.IsNaN(x) && double.IsNaN(y));

    public int GetHashCode(double obj) => 0;
}
