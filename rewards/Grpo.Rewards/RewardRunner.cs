namespace Grpo.Rewards;

/// <summary>Why a reward call produced no scores.</summary>
public enum RewardFailureKind
{
    /// <summary>The reward threw.</summary>
    Exception,
    /// <summary>The reward did not finish within <see cref="RewardRunner.Timeout"/>.</summary>
    Timeout,
    /// <summary>The reward returned a different number of scores than it was given inputs.</summary>
    WrongCount,
    /// <summary>The reward returned an infinite score; it was recorded as NaN.</summary>
    NonFinite,
}

/// <summary>One reward call that failed; its scores were recorded as NaN.</summary>
/// <param name="Reward">The reward's name.</param>
/// <param name="Kind">What went wrong.</param>
/// <param name="Message">Details for the log.</param>
public sealed record RewardFailure(string Reward, RewardFailureKind Kind, string Message);

/// <summary>The scores of one batch: one column per reward, one row per completion.</summary>
public sealed class RewardScores
{
    internal RewardScores(IReadOnlyList<string> names, double[][] byReward, IReadOnlyList<RewardFailure> failures)
    {
        Names = names;
        ByReward = byReward;
        Failures = failures;
    }

    /// <summary>Reward names, in the order they were given to the runner.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary><c>ByReward[k][i]</c>: reward k's score for completion i; NaN for "not applicable" or failed.</summary>
    public double[][] ByReward { get; }

    /// <summary>Calls that failed in this batch (their scores are NaN).</summary>
    public IReadOnlyList<RewardFailure> Failures { get; }

    /// <summary>The scores of the reward with this name.</summary>
    public double[] this[string name] => ByReward[IndexOf(name)];

    int IndexOf(string name)
    {
        for (int k = 0; k < Names.Count; k++)
            if (Names[k] == name) return k;
        throw new KeyNotFoundException($"No reward named '{name}'. Rewards: {string.Join(", ", Names)}.");
    }
}

/// <summary>
/// Calls a set of reward functions on a batch so that no reward can crash or stall training: rewards run
/// concurrently (after the rewards they depend on), each call is bounded by <see cref="Timeout"/>, and an
/// exception, timeout, wrong count or infinite score becomes NaN plus a <see cref="RewardFailure"/>.
/// </summary>
/// <remarks>
/// A reward that ignores its cancellation token keeps running in the background after its timeout; the runner
/// stops waiting for it. Rewards that run untrusted code must enforce their own hard limits (the code reward
/// runs programs in worker processes it can kill).
/// </remarks>
public sealed class RewardRunner
{
    readonly IRewardFunction[] _rewards;
    readonly int[][] _levels; // indices into _rewards; level k depends only on levels before it

    /// <summary>Creates a runner.</summary>
    /// <param name="rewards">The rewards, with unique names; their order is the column order of the results.</param>
    /// <param name="timeout">The longest one reward call may take. Default: 60 seconds.</param>
    /// <exception cref="ArgumentException">No rewards, duplicate names, or a dependency that is missing or circular.</exception>
    public RewardRunner(IEnumerable<IRewardFunction> rewards, TimeSpan? timeout = null)
    {
        _rewards = rewards.ToArray();
        Timeout = timeout ?? TimeSpan.FromSeconds(60);
        if (_rewards.Length == 0)
            throw new ArgumentException("Give at least one reward function.", nameof(rewards));
        if (Timeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeout), Timeout, "The reward timeout must be positive.");
        var duplicate = _rewards.GroupBy(r => r.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Two rewards are named '{duplicate.Key}'. Reward names must be unique; they name the metrics.", nameof(rewards));
        _levels = OrderByDependencies(_rewards);
    }

    /// <summary>The longest one reward call may take before its scores are recorded as NaN.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Reward names, in column order.</summary>
    public IReadOnlyList<string> Names => _rewards.Select(r => r.Name).ToArray();

    /// <summary>Scores the batch with every reward.</summary>
    /// <exception cref="OperationCanceledException">Only when <paramref name="cancellationToken"/> is cancelled.</exception>
    public async Task<RewardScores> ScoreAsync(IReadOnlyList<RewardInput> inputs, CancellationToken cancellationToken = default)
    {
        var byReward = new double[_rewards.Length][];
        var failures = new List<RewardFailure>();
        foreach (var level in _levels)
        {
            var levelInputs = WithPriorScores(inputs, level, byReward);
            var results = await Task.WhenAll(level.Select(k => CallAsync(_rewards[k], levelInputs[k], cancellationToken)));
            for (int j = 0; j < level.Length; j++)
            {
                byReward[level[j]] = results[j].Scores;
                if (results[j].Failure is { } failure) failures.Add(failure);
            }
        }
        return new RewardScores(Names, byReward, failures);
    }

    // Each reward of a level sees the scores of the rewards it depends on.
    Dictionary<int, IReadOnlyList<RewardInput>> WithPriorScores(IReadOnlyList<RewardInput> inputs, int[] level, double[][] byReward)
    {
        var result = new Dictionary<int, IReadOnlyList<RewardInput>>();
        foreach (var k in level)
        {
            var deps = _rewards[k].DependsOn;
            result[k] = deps.Count == 0 ? inputs : inputs.Select((input, i) => input with
            {
                PriorScores = deps.ToDictionary(d => d, d => byReward[Array.FindIndex(_rewards, r => r.Name == d)][i]),
            }).ToArray();
        }
        return result;
    }

    async Task<(double[] Scores, RewardFailure? Failure)> CallAsync(IRewardFunction reward, IReadOnlyList<RewardInput> inputs, CancellationToken cancellationToken)
    {
        double[] NotApplicable() => Enumerable.Repeat(double.NaN, inputs.Count).ToArray();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            // A thread of its own: a reward that blocks synchronously must hold up neither the runner nor its
            // siblings, nor starve the thread pool they share.
            var scores = await Task.Factory.StartNew(() => reward.ScoreAsync(inputs, timeout.Token), timeout.Token,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default)
                .Unwrap()
                .WaitAsync(Timeout, cancellationToken);
            if (scores is null || scores.Length != inputs.Count)
                return (NotApplicable(), new(reward.Name, RewardFailureKind.WrongCount,
                    $"returned {scores?.Length.ToString() ?? "null"} scores for {inputs.Count} completions"));
            if (scores.Any(double.IsInfinity))
            {
                var finite = scores.Select(s => double.IsInfinity(s) ? double.NaN : s).ToArray();
                return (finite, new(reward.Name, RewardFailureKind.NonFinite, "returned an infinite score; recorded as NaN"));
            }
            return (scores, null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            timeout.Cancel(); // the wait may time out a moment before the token does: tell the reward to stop now
            return (NotApplicable(), new(reward.Name, RewardFailureKind.Timeout, $"did not finish within {Timeout.TotalSeconds:0.###} s"));
        }
        catch (Exception e)
        {
            return (NotApplicable(), new(reward.Name, RewardFailureKind.Exception, $"{e.GetType().Name}: {e.Message}"));
        }
    }

    static int[][] OrderByDependencies(IRewardFunction[] rewards)
    {
        var names = rewards.Select(r => r.Name).ToHashSet();
        foreach (var r in rewards)
            foreach (var d in r.DependsOn.Where(d => !names.Contains(d)))
                throw new ArgumentException($"Reward '{r.Name}' depends on '{d}', which is not among the rewards given ({string.Join(", ", names)}). Add it.");

        var levels = new List<int[]>();
        var placed = new HashSet<string>();
        while (placed.Count < rewards.Length)
        {
            var ready = Enumerable.Range(0, rewards.Length)
                .Where(k => !placed.Contains(rewards[k].Name) && rewards[k].DependsOn.All(placed.Contains))
                .ToArray();
            if (ready.Length == 0)
                throw new ArgumentException("Reward dependencies form a cycle among: " +
                    string.Join(", ", rewards.Where(r => !placed.Contains(r.Name)).Select(r => r.Name)) + ".");
            levels.Add(ready);
            placed.UnionWith(ready.Select(k => rewards[k].Name));
        }
        return levels.ToArray();
    }
}
