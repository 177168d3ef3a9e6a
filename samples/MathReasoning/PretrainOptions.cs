namespace Grpo.Samples.MathReasoning;

/// <summary>
/// How the built-in model is pre-trained. The defaults are the ones the committed checkpoint was made with: they stop
/// training while the model is still partly competent, so GRPO has room to improve it.
/// </summary>
public sealed record PretrainOptions
{
    /// <summary>
    /// Optimizer steps; default 1200, the committed checkpoint: held-out greedy accuracy 14.1 % (it answers bare), pass@8
    /// at temperature 1 67.2 %, worked samples right 31 % of the time and bare ones 13 %.
    /// </summary>
    public int Steps { get; init; } = 1200;

    /// <summary>Problems per step; default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak AdamW learning rate, reached after <see cref="WarmupSteps"/> and then decayed along a cosine to a tenth; default 3e-3.</summary>
    public double LearningRate { get; init; } = 3e-3;

    /// <summary>Steps of linear warmup; default 100.</summary>
    public int WarmupSteps { get; init; } = 100;

    /// <summary>AdamW decoupled weight decay; default 0.01 (PyTorch's AdamW default).</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Global gradient-norm clip; default 1.0.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Seed of the initial weights and of the stream of training problems; default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// The share of pre-training answers that show their working ("3*4=12", "12+5=17", "#### 17"); the others give the
    /// bare "#### 17", as much text does. Default 0.3: the model learns both ways, prefers the bare answer, and is
    /// usually wrong with it but usually right when it works the steps out. That gap is the room GRPO has: the reward
    /// alone teaches it that working pays.
    /// </summary>
    public double WorkedShare { get; init; } = 0.3;

    /// <summary>
    /// The share of pre-training answers that call a tool the prompt describes (a model prompted with tools, such as the
    /// tool sample's) instead of answering bare; those answers come first, before <see cref="WorkedShare"/> is applied
    /// to the same problem. Default 0: no tool calls.
    /// </summary>
    public double ToolShare { get; init; }

    /// <summary>Print the mean loss every this many steps; default 100.</summary>
    public int LogEvery { get; init; } = 100;

    /// <summary>Throws naming the first option out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Steps, 1, nameof(Steps));
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegative(WarmupSteps, nameof(WarmupSteps));
        ArgumentOutOfRangeException.ThrowIfLessThan(LogEvery, 1, nameof(LogEvery));
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be a positive number.");
        if (!(WorkedShare >= 0 && WorkedShare <= 1))
            throw new ArgumentOutOfRangeException(nameof(WorkedShare), WorkedShare, "The share of worked answers must be between 0 and 1.");
        if (!(ToolShare >= 0 && ToolShare <= 1))
            throw new ArgumentOutOfRangeException(nameof(ToolShare), ToolShare, "The share of answers that call the tool must be between 0 and 1.");
        if (!(WeightDecay >= 0) || !(MaxGradNorm > 0))
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), "Weight decay must be 0 or more and the gradient clip positive.");
    }
}
