using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Grpo.Data;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Sampling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>Where one step sits in its run: what the run decides, the step only uses.</summary>
/// <param name="Step">This step, 1-based.</param>
/// <param name="TotalSteps">The run's length in steps.</param>
/// <param name="LearningRate">The learning rate of this step's updates (the run's schedule).</param>
/// <param name="Seed">Seed of this step's rollouts.</param>
public sealed record GrpoStepContext(int Step, int TotalSteps, double LearningRate, long Seed);

/// <summary>
/// One GRPO step, top to bottom: rollout → rewards → group-relative advantages → old-policy, sampler-correction and
/// reference log-probs → μ clipped policy-gradient updates. It owns no files, console, clock of the run or global
/// state; its collaborators come in through the constructor, so a new rollout engine, reward set or loss plugs in
/// without touching the run (<see cref="GrpoRun"/>) that calls it.
/// </summary>
public sealed partial class GrpoStep
{

    private readonly CausalLM _policy;
    private readonly IRolloutSource _rollouts;
    private readonly RewardRunner _rewards;
    private readonly GrpoLoss _loss;
    private readonly PolicyOptimizer _optimizer;
    private readonly KlReference? _reference;
    private readonly GrpoOptions _options;
    private readonly double[] _rewardWeights;
    private readonly bool _samplerCorrection;
    private readonly bool _entropyBonus;

    /// <summary>A step over <paramref name="policy"/>; checks before any work that the pieces fit together.</summary>
    /// <param name="policy">The model being trained (adapter included).</param>
    /// <param name="rollouts">Where completions come from.</param>
    /// <param name="rewards">The reward functions, run safely.</param>
    /// <param name="loss">The objective.</param>
    /// <param name="optimizer">AdamW over the trainable weights.</param>
    /// <param name="reference">π_ref of the KL term; required when β &gt; 0, ignored at β = 0.</param>
    /// <param name="options">The run's settings (group size, μ, micro-batches, masking, correction).</param>
    /// <exception cref="ArgumentException">β &gt; 0 without a reference, or reward weights that do not match the rewards.</exception>
    /// <exception cref="InvalidDataException">The policy's weights are already NaN or infinite.</exception>
    /// <exception cref="InvalidOperationException">Gradient checkpointing with LoRA dropout on a device whose random state cannot be replayed.</exception>
    public GrpoStep(CausalLM policy, IRolloutSource rollouts, RewardRunner rewards, GrpoLoss loss, PolicyOptimizer optimizer,
        KlReference? reference, GrpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(rollouts);
        ArgumentNullException.ThrowIfNull(rewards);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Beta != 0 && reference is null)
            throw new ArgumentException($"Beta is {options.Beta}, so the KL term needs a reference policy (KlReference.AdapterOff or KlReference.Frozen); set Beta to 0 to train without one.", nameof(reference));
        (_policy, _rollouts, _rewards, _loss, _optimizer, _options) = (policy, rollouts, rewards, loss, optimizer, options);
        _reference = options.Beta == 0 ? null : reference;
        _rewardWeights = options.ResolveRewardWeights(rewards.Names.Count);
        // TRL corrects only for vLLM's log-probs; here, for any engine whose numbers are not the trainer's own.
        _samplerCorrection = options.SamplerImportanceSamplingCorrection && !rollouts.LogProbsMatchTrainer;
        _entropyBonus = loss.Settings.EntropyBonus;
        Entropy = EntropyController.From(options);
        EnsureFinite(policy);
        if (options.GradientCheckpointing)
            ActivationCheckpoint.EnsureReplayable(policy, policy.Device);
    }

    /// <summary>The entropy bonus's coefficient, adapted between steps with <see cref="GrpoOptions.UseAdaptiveEntropy"/>: state a checkpoint keeps.</summary>
    public EntropyController Entropy { get; }

    /// <summary>The reward functions' names, in order.</summary>
    public IReadOnlyList<string> RewardNames => _rewards.Names;

    /// <summary>
    /// Runs the step on <paramref name="problems"/> (their prompts already encoded as <paramref name="promptIds"/>) and
    /// returns its metrics. Nothing of a step that throws is applied to the weights.
    /// </summary>
    /// <exception cref="GrpoTrainingException">The step cannot go on: outputs, loss, gradients or weights became
    /// non-finite, or memory ran out. The exception says which, with advice that fits.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing was applied.</exception>
    public GrpoStepMetrics Run(IReadOnlyList<Problem> problems, IReadOnlyList<int[]> promptIds, GrpoStepContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(context);
        var clock = Stopwatch.StartNew();
        int g = _options.NumGenerations;

        // 1. Rollout: G completions per prompt from the current policy.
        _policy.eval();
        var completions = Guard(context.Step, "sampling",
            () => _rollouts.GenerateAsync(new RolloutRequest(promptIds, g, context.Seed) { Problems = problems }, cancellationToken).GetAwaiter().GetResult());
        var samplingSeconds = Elapsed(clock);

        // 2. Rewards, scored safely on pool threads (each bounded by its timeout), then group-relative advantages.
        var inputs = completions.Select(c => c.ToRewardInput(problems[c.PromptIndex])).ToList();
        var scores = _rewards.ScoreAsync(inputs, cancellationToken).GetAwaiter().GetResult();
        var advantages = Advantages.Compute(scores.ByReward, _rewardWeights, g, _options.ScaleRewards, _options.MultiObjectiveAggregation);
        var rewardSeconds = Elapsed(clock) - samplingSeconds;

        // 3. DAPO dynamic sampling: groups whose rewards are all equal carry no signal and can be left out.
        var rows = Enumerable.Range(0, completions.Count)
            .Where(i => !(_options.DropZeroStdGroups && advantages.ZeroStdGroups[i / g]))
            .ToArray();
        // LUSPO's mean runs over padding too, so its micro-batches are padded to the step's width (see RolloutBatch.Build).
        int completionFloor = _options.LossType == LossType.Luspo && rows.Length > 0 ? rows.Max(r => completions[r].TokenIds.Length) : 1;
        var microBatches = MicroBatchPlan.Split(rows, r => promptIds[completions[r].PromptIndex].Length, r => completions[r].TokenIds.Length, completionFloor, _options)
            .Select(r => RolloutBatch.Build(promptIds, completions, r, advantages.Values, _options.MaskTruncatedCompletions, _policy.Device, completionFloor))
            .ToList();
        var fixedTensors = new List<Tensor>();
        try
        {
            // 4. Log-probs fixed for the whole step: the old policy's (the trainer's own forward pass, when μ > 1 or
            //    another engine sampled), the sampler-mismatch weights π_old / π_sampler, and the reference's (β > 0).
            bool needOld = _options.NumIterations > 1 || _samplerCorrection;
            var old = needOld ? microBatches.Select(b => Guard(context.Step, "the old-policy pass", () => FixedLogProbs(b, null))).ToList() : null;
            var correction = _samplerCorrection ? microBatches.Select((b, i) => SamplerImportanceSampling.Compute(old![i], b.SamplerLogProbs, b.CompletionMask,
                _options.SamplerImportanceSamplingMode, _options.SamplerImportanceSamplingClipMax, _options.SamplerImportanceSamplingClipMin)).ToList() : null;
            var reference = _reference is null ? null : microBatches.Select(b => Guard(context.Step, "the reference pass", () => FixedLogProbs(b, _reference))).ToList();
            fixedTensors.AddRange([.. old ?? [], .. correction?.Select(c => c.Ratio) ?? [], .. reference ?? []]);
            var referenceSeconds = Elapsed(clock) - samplingSeconds - rewardSeconds;

            // 5. μ policy updates on the same rollout.
            var update = new Update(0, 0, new Dictionary<string, double>());
            for (int iteration = 0; iteration < _options.NumIterations && microBatches.Count > 0; iteration++)
                update = Guard(context.Step, "the policy update", () => UpdatePolicy(microBatches, old, reference, correction?.Select(c => c.Ratio).ToList(), context, cancellationToken));
            var objective = new Dictionary<string, double>(update.Metrics);
            if (correction is not null)
                foreach (var (name, value) in correction.Select(c => c.Stats).Aggregate(SamplerImportanceSamplingStats.Empty, (a, b) => a.Merge(b)).Metrics())
                    objective[name] = value;
            var policySeconds = Elapsed(clock) - samplingSeconds - rewardSeconds - referenceSeconds;

            var lengths = completions.Select(c => c.PolicyTokenCount).ToArray();   // TRL counts only the policy's tokens
            return new GrpoStepMetrics
            {
                Step = context.Step,
                TotalSteps = context.TotalSteps,
                RewardMetrics = advantages.Metrics(_rewards.Names),
                RewardFailures = scores.Failures.Count,
                MeanCompletionLength = lengths.Average(),
                MinCompletionLength = lengths.Min(),
                MaxCompletionLength = lengths.Max(),
                ClippedRatio = completions.Count(c => c.Truncated) / (double)completions.Count,
                Loss = update.Loss,
                GradNorm = update.GradNorm,
                Objective = objective,
                LearningRate = context.LearningRate,
                StepTokens = completions.Sum(c => (long)c.TokenIds.Length + promptIds[c.PromptIndex].Length),
                TrainedCompletions = rows.Length,
                SamplingTokensPerSecond = lengths.Sum() / Math.Max(samplingSeconds, 1e-9),
                TrainingTokensPerSecond = _options.NumIterations * microBatches.Sum(b => b.Tokens) / Math.Max(policySeconds, 1e-9),
                SamplingSeconds = samplingSeconds,
                RewardSeconds = rewardSeconds,
                ReferenceSeconds = referenceSeconds,
                PolicySeconds = policySeconds,
                StepSeconds = clock.Elapsed.TotalSeconds,
                Tools = ToolMetrics.From(completions),
            };
        }
        finally
        {
            fixedTensors.ForEach(t => t.Dispose());
            microBatches.ForEach(b => b.Dispose());
        }
    }

    /// <summary>
    /// Seconds since the step began, once the device has run what was queued: CUDA runs kernels asynchronously, so the
    /// host clock alone would bill one phase's kernels to the next. One sync per phase, never per token.
    /// </summary>
    private double Elapsed(Stopwatch clock)
    {
        if (_policy.Device.type == DeviceType.CUDA) cuda.synchronize(_policy.Device);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>What one optimizer update did: its loss (summed over micro-batches), gradient norm, and the loss metrics.</summary>
    private readonly record struct Update(double Loss, double GradNorm, IReadOnlyDictionary<string, double> Metrics);

    /// <summary>
    /// One optimizer step over every micro-batch of the rollout: accumulate gradients, clip, step. The loss's metrics
    /// are averaged over the micro-batches, NaN left out, as TRL averages what each <c>compute_loss</c> call logged;
    /// <c>policy_loss</c>, each micro-batch's share of the step's, is summed.
    /// </summary>
    private Update UpdatePolicy(List<RolloutBatch> batches, List<Tensor>? old, List<Tensor>? reference, List<Tensor>? correction,
        GrpoStepContext context, CancellationToken cancellationToken)
    {
        var (loss, entropySum, entropyTokens, metrics) = AccumulateGradients(batches, old, reference, correction, context, cancellationToken);
        double gradNorm = _optimizer.ClipGradients();
        if (!double.IsFinite(gradNorm))
        {
            _optimizer.ZeroGrad();
            throw new GrpoTrainingException(context.Step, TrainingFailure.Diverged,
                $"The gradient norm is {gradNorm} at step {context.Step}; no update of that step was applied.");
        }
        _optimizer.Step(context.LearningRate);
        if (!_optimizer.WeightsAreFinite())
            throw new GrpoTrainingException(context.Step, TrainingFailure.Diverged,
                $"The weights became NaN or infinite in the update of step {context.Step} (learning rate {context.LearningRate}); the weights in memory are lost.");

        var averaged = metrics.SelectMany(m => m).GroupBy(kv => kv.Key).ToDictionary(group => group.Key, group =>
        {
            var values = group.Select(kv => kv.Value).Where(v => !double.IsNaN(v)).ToArray();
            return values.Length == 0 ? double.NaN : group.Key == "policy_loss" ? values.Sum() : values.Average();
        });
        if (_entropyBonus)
        {
            Entropy.Update(entropySum, entropyTokens);   // takes effect from the next optimizer step, as in TRL
            foreach (var (name, value) in Entropy.Metrics()) averaged[name] = value;
        }
        return new Update(loss, gradNorm, averaged);
    }

    /// <summary>
    /// The backward pass of every micro-batch, its gradients accumulated on the trainable weights (not yet clipped or
    /// applied), with the step's normalisers (<see cref="GrpoLossInputs.CompletionsInStep"/>,
    /// <see cref="GrpoLossInputs.ActiveTokensInStep"/>), so the accumulated gradient is the one-big-batch gradient
    /// however the step was split. Returns the step's loss, the entropy bonus's sums and each micro-batch's metrics.
    /// </summary>
    private (double Loss, double EntropySum, double EntropyTokens, List<IReadOnlyDictionary<string, double>> Metrics) AccumulateGradients(
        List<RolloutBatch> batches, List<Tensor>? old, List<Tensor>? reference, List<Tensor>? correction,
        GrpoStepContext context, CancellationToken cancellationToken)
    {
        _policy.train();
        using var checkpointing = _options.GradientCheckpointing ? ActivationCheckpoint.Enable(_policy) : null;
        double activeTokens = batches.Sum(b => b.CompletionMask.sum().to(ScalarType.Float64).item<double>());
        int completionsInStep = batches.Sum(b => (int)b.Advantages.shape[0]);
        double loss = 0, entropySum = 0, entropyTokens = 0;
        var metrics = new List<IReadOnlyDictionary<string, double>>(batches.Count);
        for (int i = 0; i < batches.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var batch = batches[i];
            var (logProbs, entropies) = LogProbs(batch, _policy, entropyGradient: _entropyBonus);
            var result = _loss.Compute(new GrpoLossInputs
            {
                LogProbs = logProbs,
                OldLogProbs = old?[i],
                RefLogProbs = reference?[i],
                Advantages = batch.Advantages,
                CompletionMask = batch.CompletionMask,
                SamplerLogProbs = _samplerCorrection ? batch.SamplerLogProbs : null,
                ImportanceSamplingRatio = correction?[i],
                Entropies = entropies,
                EntropyCoefficient = _entropyBonus ? Entropy.AppliedCoefficient : null,
                ActiveTokensInStep = activeTokens,
                CompletionsInStep = completionsInStep,
            });
            var value = result.Loss.to(ScalarType.Float64).item<double>();
            if (!double.IsFinite(value))
            {
                _optimizer.ZeroGrad();
                throw new GrpoTrainingException(context.Step, TrainingFailure.Diverged,
                    $"The loss is {value} at step {context.Step} (micro-batch {i + 1} of {batches.Count}); no update of that step was applied.");
            }
            result.Loss.backward();
            loss += value;
            entropySum += result.EntropySum ?? 0;
            entropyTokens += result.EntropyTokens ?? 0;
            metrics.Add(result.ToDictionary());
        }
        return (loss, entropySum, entropyTokens, metrics);
    }

    /// <summary>[B, C] log-probs of the completion tokens under <paramref name="model"/>, and their entropies (with a gradient only for the entropy bonus).</summary>
    private (Tensor LogProbs, Tensor Entropies) LogProbs(RolloutBatch batch, CausalLM model, bool entropyGradient = false)
    {
        var hidden = model.HiddenStates(batch.InputIds, batch.AttentionMask); // [B, P + C, H]
        var predicting = hidden.narrow(1, batch.PromptLength - 1, batch.CompletionLength); // [B, C, H]: the state before each completion token
        return TokenLogProbs.ComputeWithEntropy(predicting, model.LmHeadWeight, null, batch.Targets, _options.Temperature, _options.LogProbChunkTokens, entropyGradient);
    }

    /// <summary>[B, C] log-probs without gradient, in eval mode: the current policy's (π_old), or the reference's.</summary>
    private Tensor FixedLogProbs(RolloutBatch batch, KlReference? reference)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _policy.eval();
        using var use = reference?.Use();
        return LogProbs(batch, reference?.Model ?? _policy).LogProbs.detach().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs one part of the step and turns libtorch's native failures into what they mean: memory that ran out, or
    /// outputs that are no longer finite because the weights diverged.
    /// </summary>
    private T Guard<T>(int step, string part, Func<T> work)
    {
        try
        {
            return work();
        }
        catch (ExternalException e)
        {
            var native = e.Message.Split('\n')[0];
            if (native.Contains("allocate", StringComparison.OrdinalIgnoreCase) || native.Contains("out of memory", StringComparison.OrdinalIgnoreCase))
                throw new GrpoTrainingException(step, TrainingFailure.OutOfMemory,
                    $"Step {step} ran out of memory in {part} ({native}). Lower PromptsPerStep, NumGenerations or MaxCompletionLength, " +
                    "or set a smaller MaxTokensPerMicroBatch (or raise GradientAccumulationSteps) so each micro-batch is smaller, and keep GradientCheckpointing on.", e);
            // libtorch's samplers and kernels refuse NaN or infinite values: weights pushed so far that the outputs overflow.
            if (!_optimizer.WeightsAreFinite() || NonFinite().IsMatch(native))
                throw new GrpoTrainingException(step, TrainingFailure.Diverged,
                    $"Step {step} failed in {part}: the model's outputs are NaN or infinite after the updates so far ({native}).", e);
            throw new GrpoTrainingException(step, TrainingFailure.Native, $"Step {step} failed in {part}: {native}", e);
        }
    }

    [GeneratedRegex(@"\b(nan|inf)\b", RegexOptions.IgnoreCase)]
    private static partial Regex NonFinite();

    /// <summary>Refuses a model whose weights are already NaN or infinite: no training can start from it.</summary>
    private static void EnsureFinite(CausalLM model)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
            if (!parameter.isfinite().all().item<bool>())
                throw new InvalidDataException(
                    $"The model's weight '{name}' holds NaN or infinite values before any training: the checkpoint is damaged or " +
                    "was saved from a diverged run. Load a healthy checkpoint.");
    }
}
