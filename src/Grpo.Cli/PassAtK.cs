namespace Grpo.Cli;

/// <summary>
/// The unbiased pass@k estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code", eq. 1):
/// with n samples of a problem of which c are correct, pass@k = 1 − C(n−c, k) / C(n, k), the chance that k samples
/// drawn without replacement from the n include a correct one.
/// </summary>
static class PassAtK
{
    /// <summary>pass@k for one problem; the product form 1 − Π_{i=n−c+1}^{n} (1 − k/i) avoids huge binomials.</summary>
    public static double Estimate(int n, int c, int k)
    {
        if (k < 1 || n < k)
            throw new ArgumentOutOfRangeException(nameof(k), k, $"pass@k needs 1 ≤ k ≤ n (n = {n} samples); use --samples at least --k.");
        if (c < 0 || c > n)
            throw new ArgumentOutOfRangeException(nameof(c), c, $"the number correct must lie in [0, n = {n}].");
        if (n - c < k) return 1.0;
        double allWrong = 1.0;
        for (int i = n - c + 1; i <= n; i++)
            allWrong *= 1.0 - (double)k / i;
        return 1.0 - allWrong;
    }
}
