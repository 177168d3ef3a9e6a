namespace Grpo.Rewards.Shaping;

/// <summary>
/// DAPO's soft overlong punishment: 0 up to L_max − C tokens, then a linear ramp to −1 at L_max, −1 beyond.
/// Discourages running into the length limit without rewarding brevity below it.
/// </summary>
/// <remarks>
/// <para>Follows Eq. 13 of the DAPO paper (arXiv 2503.14476), as TRL's <c>get_soft_overlong_punishment</c>
/// implements it (trl/rewards/other_rewards.py). With L = the number of completion token ids
/// (<see cref="RewardInput.CompletionIds"/>):</para>
/// <code>
/// R = 0                        if L ≤ L_max − C
/// R = ((L_max − C) − L) / C    if L_max − C &lt; L ≤ L_max     (so R(L_max) = −1)
/// R = −1                       if L &gt; L_max
/// </code>
/// <para>Options: <see cref="SoftOverlongPunishmentOptions"/> (both required). NaN when the input has text but no
/// token ids.</para>
/// </remarks>
public sealed class SoftOverlongPunishment : RewardFunction
{
    readonly int _maxLength;
    readonly int _cacheLength;

    /// <summary>Creates the reward.</summary>
    /// <exception cref="ArgumentOutOfRangeException">L_max is not positive, or C is outside [0, L_max].</exception>
    public SoftOverlongPunishment(SoftOverlongPunishmentOptions options)
    {
        if (options.MaxCompletionLength <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxCompletionLength,
                "SoftOverlongPunishmentOptions.MaxCompletionLength must be positive; set it to the sampler's maximum completion length in tokens.");
        if (options.CacheLength < 0 || options.CacheLength > options.MaxCompletionLength)
            throw new ArgumentOutOfRangeException(nameof(options), options.CacheLength,
                $"SoftOverlongPunishmentOptions.CacheLength must lie in [0, MaxCompletionLength = {options.MaxCompletionLength}]; DAPO used a quarter of it or less.");
        _maxLength = options.MaxCompletionLength;
        _cacheLength = options.CacheLength;
    }

    /// <inheritdoc/>
    public override string Name => "soft_overlong_punishment";

    /// <inheritdoc/>
    public override double Score(RewardInput input)
    {
        if (CompletionTokens.Missing(input)) return double.NaN;
        int length = input.CompletionIds.Count;
        int safeLength = _maxLength - _cacheLength;
        if (length <= safeLength) return 0;
        if (length <= _maxLength) return (double)(safeLength - length) / _cacheLength;
        return -1;
    }
}
