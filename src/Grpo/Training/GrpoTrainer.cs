using System.Diagnostics;
using System.Text.Json;
using Grpo.Data;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Sampling;
using Grpo.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Grpo.Training;

/// <summary>
/// Trains a causal LM with GRPO: for each step, sample G completions of a few prompts, score them with the reward
/// functions, turn scores into group-relative advantages, and take <see cref="GrpoOptions.NumIterations"/> clipped
/// policy-gradient updates on the trainable weights (the LoRA adapter, or all weights when there is none), with a
/// KL penalty to the reference (the same model with its adapter switched off) when β &gt; 0.
/// </summary>
/// <remarks>
/// Deterministic by <see cref="GrpoOptions.Seed"/> on one machine: the data order, the sampler's generator and
/// TorchSharp's process-wide generator (adapter dropout) are seeded, saved in checkpoints and restored on resume. Other
/// code drawing from the process-wide generator while training runs breaks that determinism.
/// </remarks>
/// <example>
/// <code>
/// var model = Checkpoint.Load("Qwen2.5-0.5B-Instruct");
/// var tokenizer = HfTokenizer.FromDirectory("Qwen2.5-0.5B-Instruct");
/// var lora = LoraModel.Apply(model, new LoraOptions { Rank = 16, Alpha = 32 });
/// using var trainer = new GrpoTrainer(model, tokenizer, [new MathAnswerReward()], new GrpoOptions { MaxSteps = 200 }, lora)
///     { ChatFormat = new ChatMlFormatter() };
/// await trainer.TrainAsync(JsonlDataset.Load("gsm8k/train.jsonl"), progress, cancellationToken);
/// lora.Save("adapter");
/// </code>
/// </example>
public sealed class GrpoTrainer : IDisposable
{
    private readonly CausalLM _model;
    private readonly ITokenizer _tokenizer;
    private readonly LoraModel? _lora;
    private readonly GrpoOptions _options;
    private readonly RewardRunner _rewards;
    private readonly double[] _rewardWeights;
    private readonly GroupSampler _sampler;
    private readonly GrpoLoss _loss;
    private readonly IReadOnlyList<Parameter> _trainable;
    private readonly AdamW _optimizer;
    private int _step;
    private long _dataPosition;
    private long _numTokens;

    /// <summary>Prepares a run; validates the options and checks the tokenizer against the model.</summary>
    /// <param name="model">The policy. With <paramref name="lora"/>, only the adapter trains and the base is the KL reference.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="rewards">The reward functions; their weighted sum is the reward (<see cref="GrpoOptions.RewardWeights"/>).</param>
    /// <param name="options">The run's settings.</param>
    /// <param name="lora">The adapter to train, from <see cref="LoraModel.Apply"/> or <see cref="LoraModel.Load"/>; null trains every weight.</param>
    /// <param name="rewardTimeout">The longest one reward call may take before its scores are recorded as NaN; default 60 s.</param>
    /// <param name="eosTokenIds">Ids that end a completion; default the model's (generation_config.json). Chat models
    /// often end a turn with a token listed only in tokenizer_config.json (<c>EosTokens.FromDirectory</c> merges both).</param>
    public GrpoTrainer(CausalLM model, ITokenizer tokenizer, IEnumerable<IRewardFunction> rewards, GrpoOptions options,
        LoraModel? lora = null, TimeSpan? rewardTimeout = null, IReadOnlyList<int>? eosTokenIds = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _model = model;
        _tokenizer = tokenizer;
        _lora = lora;
        _options = options;
        _rewards = new RewardRunner(rewards, rewardTimeout);
        _rewardWeights = options.ResolveRewardWeights(_rewards.Names.Count);
        _sampler = new GroupSampler(model, tokenizer, new SamplingOptions
        {
            Temperature = options.Temperature,
            TopP = options.TopP,
            TopK = options.TopK,
            MinP = options.MinP ?? 0,
            MaxNewTokens = options.MaxCompletionLength,
            EosTokenIds = eosTokenIds,
            Seed = options.Seed,
            PromptsPerBatch = options.PromptsPerStep,
        });
        _loss = new GrpoLoss(GrpoLossSettings.From(options));
        _trainable = lora?.TrainableParameters() ?? model.parameters().Where(p => p.requires_grad).ToList();
        if (_trainable.Count == 0)
            throw new ArgumentException("The model has no trainable weights. Apply a LoRA adapter (LoraModel.Apply) or unfreeze the model.", nameof(model));
        _optimizer = optim.AdamW(_trainable, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
        random.manual_seed(options.Seed);
    }

    /// <summary>The chat template the prompt is put in; null feeds the problem's prompt text to the model as it is.</summary>
    public IChatFormatter? ChatFormat { get; init; }

    /// <summary>A system message put before each prompt when <see cref="ChatFormat"/> is set; null for none.</summary>
    public string? SystemPrompt { get; init; }

    /// <summary>
    /// The KL reference when training every weight (no adapter) with β &gt; 0: a frozen copy of the starting model
    /// (<see cref="FrozenCopy.Of"/>). With an adapter the reference is the base model itself and this stays null.
    /// </summary>
    public CausalLM? Reference { get; init; }

    /// <summary>Called after every step with its metrics, on the training thread.</summary>
    public Action<GrpoStepMetrics>? OnStep { get; init; }

    /// <summary>Steps finished so far (after <see cref="ResumeFrom"/>, the checkpoint's step).</summary>
    public int Step => _step;

    /// <summary>
    /// Restores a checkpoint written by this trainer (weights, optimizer, data position, random states), so that
    /// <see cref="TrainAsync"/> continues the run exactly where it stopped. Call before <see cref="TrainAsync"/>, on a
    /// trainer built like the original one.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint is incomplete or was made with other reward functions or seed.</exception>
    public void ResumeFrom(string checkpointDir)
    {
        var state = TrainingCheckpoint.LoadState(checkpointDir);
        if (!state.RewardNames.SequenceEqual(_rewards.Names) || state.Seed != _options.Seed)
            throw new InvalidDataException(
                $"Checkpoint '{checkpointDir}' was made with rewards [{string.Join(", ", state.RewardNames)}] and seed {state.Seed}; " +
                $"this trainer has [{string.Join(", ", _rewards.Names)}] and seed {_options.Seed}. Resume with the run's own settings.");

        using (no_grad())
        {
            if (_lora is not null)
                _lora.LoadWeights(Path.Combine(checkpointDir, TrainingCheckpoint.AdapterFolderName));
            else
            {
                using var saved = Checkpoint.Load(Path.Combine(checkpointDir, TrainingCheckpoint.ModelFolderName), _model.Device, _model.Dtype);
                var byName = saved.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                foreach (var (name, parameter) in _model.named_parameters()) parameter.copy_(byName[name]);
            }
        }
        _optimizer.load_state_dict(Path.Combine(checkpointDir, TrainingCheckpoint.OptimizerFileName));
        _sampler.RandomState = state.SamplerRandomState;
        using (var torchState = tensor(state.TorchRandomState, dtype: ScalarType.Byte)) random.set_rng_state(torchState);
        (_step, _dataPosition, _numTokens) = (state.Step, state.DataPosition, state.NumTokens);
    }

    /// <summary>
    /// Trains until <see cref="GrpoOptions.MaxSteps"/> (or <see cref="GrpoOptions.NumTrainEpochs"/>) steps are done, on
    /// a dedicated thread; <paramref name="progress"/> and <see cref="OnStep"/> are called from it.
    /// </summary>
    /// <param name="dataset">The problems; each step takes <see cref="GrpoOptions.PromptsPerStep"/> of them, reshuffled every epoch.</param>
    /// <param name="progress">Receives each step's metrics.</param>
    /// <param name="cancellationToken">Stops between steps and inside sampling; the last checkpoint stays intact.</param>
    /// <returns>The metrics of every step this call ran.</returns>
    /// <exception cref="ArgumentException">The dataset is empty.</exception>
    /// <exception cref="GrpoTrainingException">The loss became NaN or infinite; nothing of that step was applied.</exception>
    public Task<IReadOnlyList<GrpoStepMetrics>> TrainAsync(
        IReadOnlyList<Problem> dataset, IProgress<GrpoStepMetrics>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Count == 0)
            throw new ArgumentException("The dataset is empty; give at least one problem.", nameof(dataset));
        if (_lora is null && _options.Beta != 0 && Reference is null)
            throw new InvalidOperationException("β > 0 without an adapter needs an explicit reference model: set Reference = FrozenCopy.Of(model, ...) before training.");

        // The loop runs on one thread of its own. libtorch takes CPU tensor memory from malloc, and glibc gives every
        // thread that allocates its own arena; a loop that moved between pool threads at each await grew all of them
        // (the sample's run: 1.5 to 3.0 GB resident in 80 steps, against a flat 0.95 GB on one thread). That thread's
        // secondary arena makes long or deep steps slower than the main arena would (README, "Speed and memory");
        // MALLOC_ARENA_MAX=1 recovers it.
        return Task.Factory.StartNew(() => Train(dataset, progress, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    IReadOnlyList<GrpoStepMetrics> Train(IReadOnlyList<Problem> dataset, IProgress<GrpoStepMetrics>? progress, CancellationToken cancellationToken)
    {
        int totalSteps = _options.MaxSteps > 0
            ? _options.MaxSteps
            : (int)Math.Ceiling(_options.NumTrainEpochs * dataset.Count / _options.PromptsPerStep);
        var order = new DataOrder(dataset.Count, _options.Seed) { Position = _dataPosition };
        Directory.CreateDirectory(_options.OutputDir);
        var history = new List<GrpoStepMetrics>();
        GrpoStepMetrics? last = null;
        while (_step < totalSteps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var problems = order.Next(_options.PromptsPerStep).Select(i => dataset[i]).ToList();
            var metrics = RunStep(problems, totalSteps, last, cancellationToken);
            _dataPosition = order.Position;
            history.Add(last = metrics);
            AppendMetrics(metrics);
            progress?.Report(metrics);
            OnStep?.Invoke(metrics);
            if (_step % _options.SaveSteps == 0 || _step == totalSteps)
                SaveCheckpoint(totalSteps);
        }
        return history;
    }

    /// <summary>One GRPO step: rollout, rewards, advantages, reference pass, policy updates.</summary>
    private GrpoStepMetrics RunStep(List<Problem> problems, int totalSteps, GrpoStepMetrics? previous, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        int g = _options.NumGenerations;

        // 1. Rollout: G completions per prompt from the current policy, without dropout.
        var promptIds = problems.Select(p => _tokenizer.Encode(FormatPrompt(p))).ToList();
        _model.eval();
        IReadOnlyList<Completion> completions;
        try
        {
            completions = _sampler.Sample(promptIds, g, cancellationToken);
        }
        catch (System.Runtime.InteropServices.ExternalException e)
        {
            // libtorch refuses to sample from NaN or infinite probabilities: the weights have diverged.
            throw new GrpoTrainingException(_step + 1, previous, $"Sampling failed at step {_step + 1}; the model's outputs are no longer finite ({e.Message.Split('\n')[0]}).");
        }
        var samplingSeconds = clock.Elapsed.TotalSeconds;

        // 2. Rewards, scored safely, then group-relative advantages.
        var inputs = completions.Select(c => new RewardInput(problems[c.PromptIndex].Prompt, c.Text, c.TokenIds, problems[c.PromptIndex].Fields)).ToList();
        // Rewards run on pool threads (each bounded by its timeout); this thread waits for them.
        var scores = _rewards.ScoreAsync(inputs, cancellationToken).GetAwaiter().GetResult();
        var advantages = Advantages.Compute(scores.ByReward, _rewardWeights, g, _options.ScaleRewards);
        var rewardSeconds = clock.Elapsed.TotalSeconds - samplingSeconds;

        // 3. DAPO dynamic sampling: groups whose rewards are all equal carry no signal and can be left out.
        var rows = Enumerable.Range(0, completions.Count)
            .Where(i => !(_options.DropZeroStdGroups && advantages.ZeroStdGroups[i / g]))
            .ToArray();
        var microBatches = MicroBatches(rows).Select(r => RolloutBatch.Build(promptIds, completions, r, advantages.Values, _options.MaskTruncatedCompletions, _model.Device)).ToList();
        try
        {
            // 4. Reference log-probs (β > 0 only), fixed for the whole step.
            var referenceLogProbs = _options.Beta == 0 ? null : microBatches.Select(ReferenceLogProbs).ToList();
            var referenceSeconds = clock.Elapsed.TotalSeconds - samplingSeconds - rewardSeconds;

            // 5. μ policy updates on the same rollout.
            var update = default(UpdateResult);
            for (int iteration = 0; iteration < _options.NumIterations; iteration++)
                update = microBatches.Count == 0 ? UpdateResult.Skipped : Update(microBatches, referenceLogProbs, totalSteps, previous);
            referenceLogProbs?.ForEach(t => t.Dispose());
            var policySeconds = clock.Elapsed.TotalSeconds - samplingSeconds - rewardSeconds - referenceSeconds;

            _step++;
            long stepTokens = completions.Sum(c => (long)c.TokenIds.Length + promptIds[c.PromptIndex].Length);
            _numTokens += stepTokens;
            var lengths = completions.Select(c => c.TokenIds.Length).ToArray();
            return new GrpoStepMetrics
            {
                Step = _step,
                TotalSteps = totalSteps,
                Reward = advantages.RewardMean,
                RewardStd = advantages.RewardStd,
                RewardsByFunction = _rewards.Names.Select((name, k) => (name, k)).ToDictionary(x => x.name, x => (advantages.MeanByFunction[x.k], advantages.StdByFunction[x.k])),
                RewardFailures = scores.Failures.Count,
                FracRewardZeroStd = advantages.FracRewardZeroStd,
                MeanCompletionLength = lengths.Average(),
                MinCompletionLength = lengths.Min(),
                MaxCompletionLength = lengths.Max(),
                ClippedRatio = completions.Count(c => c.Truncated) / (double)completions.Count,
                Kl = update.Kl,
                Entropy = update.Entropy,
                Loss = update.Loss,
                ClipRatioLow = update.ClipRatioLow,
                ClipRatioHigh = update.ClipRatioHigh,
                ClipRatioRegion = update.ClipRatioRegion,
                GradNorm = update.GradNorm,
                LearningRate = update.LearningRate,
                NumTokens = _numTokens,
                TrainedCompletions = rows.Length,
                SamplingTokensPerSecond = lengths.Sum() / Math.Max(samplingSeconds, 1e-9),
                TrainingTokensPerSecond = _options.NumIterations * microBatches.Sum(b => b.Tokens) / Math.Max(policySeconds, 1e-9),
                SamplingSeconds = samplingSeconds,
                RewardSeconds = rewardSeconds,
                ReferenceSeconds = referenceSeconds,
                PolicySeconds = policySeconds,
                StepSeconds = clock.Elapsed.TotalSeconds,
            };
        }
        finally
        {
            microBatches.ForEach(b => b.Dispose());
        }
    }

    /// <summary>The rows of each micro-batch: <see cref="GrpoOptions.GradientAccumulationSteps"/> near-equal slices.</summary>
    private IEnumerable<int[]> MicroBatches(int[] rows)
    {
        if (rows.Length == 0) yield break;
        int size = (int)Math.Ceiling(rows.Length / (double)_options.GradientAccumulationSteps);
        for (int start = 0; start < rows.Length; start += size)
            yield return rows[start..Math.Min(rows.Length, start + size)];
    }

    private readonly record struct UpdateResult(
        double Loss, double? Kl, double? Entropy, double ClipRatioLow, double ClipRatioHigh, double ClipRatioRegion, double GradNorm, double LearningRate)
    {
        public static readonly UpdateResult Skipped = new(0, null, null, 0, 0, 0, 0, 0);
    }

    /// <summary>One optimizer step over every micro-batch of the rollout: accumulate gradients, clip, step.</summary>
    private UpdateResult Update(List<RolloutBatch> batches, List<Tensor>? referenceLogProbs, int totalSteps, GrpoStepMetrics? previous)
    {
        _model.train();
        double activeTokens = batches.Sum(b => b.CompletionMask.sum().item<float>());
        double loss = 0, low = 0, high = 0, region = 0;
        double? kl = null, entropy = null;
        for (int i = 0; i < batches.Count; i++)
        {
            using var scope = NewDisposeScope();
            var batch = batches[i];
            var (logProbs, entropies) = PolicyLogProbs(batch, _model);
            var result = _loss.Compute(new GrpoLossInputs
            {
                LogProbs = logProbs,
                OldLogProbs = _options.NumIterations > 1 ? batch.OldLogProbs : null,
                RefLogProbs = referenceLogProbs?[i],
                Advantages = batch.Advantages,
                CompletionMask = batch.CompletionMask,
                Entropies = entropies,
                ActiveTokensInStep = activeTokens,
                MicroBatchesInStep = batches.Count,
            });
            var value = result.Loss.item<float>();
            if (!float.IsFinite(value))
            {
                _optimizer.zero_grad();
                throw new GrpoTrainingException(_step + 1, previous,
                    $"The loss is {value} at step {_step + 1} (micro-batch {i + 1} of {batches.Count}); no update of that step was applied.");
            }
            result.Loss.backward();
            loss += value;
            low += (result.ClipRatioLow ?? 0) / batches.Count;
            high += (result.ClipRatioHigh ?? 0) / batches.Count;
            region += (result.ClipRatioRegion ?? 0) / batches.Count;
            if (result.Kl is { } k) kl = (kl ?? 0) + k / batches.Count;
            if (result.Entropy is { } e) entropy = (entropy ?? 0) + e / batches.Count;
        }

        double gradNorm = nn.utils.clip_grad_norm_(_trainable, _options.MaxGradNorm);
        if (!double.IsFinite(gradNorm))
        {
            _optimizer.zero_grad();
            throw new GrpoTrainingException(_step + 1, previous, $"The gradient norm is {gradNorm} at step {_step + 1}; no update of that step was applied.");
        }
        var learningRate = LearningRateScheduler.LearningRateAt(_options, _step, totalSteps);
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = learningRate;
        _optimizer.step();
        _optimizer.zero_grad();
        if (!AllFinite(_trainable))
            throw new GrpoTrainingException(_step + 1, previous,
                $"The weights became NaN or infinite in the update of step {_step + 1} (learning rate {learningRate}); the weights in memory are lost, the checkpoints on disk are not.");
        return new UpdateResult(loss, kl, entropy, low, high, region, gradNorm, learningRate);
    }

    private static bool AllFinite(IEnumerable<Tensor> tensors)
    {
        using var scope = NewDisposeScope();
        return tensors.All(t => t.isfinite().all().item<bool>());
    }

    /// <summary>[B, C] log-probs of the completion tokens under <paramref name="model"/>, and their entropies (no gradient).</summary>
    private (Tensor LogProbs, Tensor Entropies) PolicyLogProbs(RolloutBatch batch, CausalLM model)
    {
        var hidden = model.HiddenStates(batch.InputIds, batch.AttentionMask); // [B, P + C, H]
        var predicting = hidden.narrow(1, batch.PromptLength - 1, batch.CompletionLength); // [B, C, H]: the state before each completion token
        return TokenLogProbs.ComputeWithEntropy(predicting, model.LmHeadWeight, null, batch.Targets, _options.Temperature, _options.LogProbChunkTokens);
    }

    /// <summary>[B, C] log-probs under the reference: the model with its adapter off, or the explicit frozen copy.</summary>
    private Tensor ReferenceLogProbs(RolloutBatch batch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var adapterOff = _lora?.Disabled();
        var reference = Reference ?? _model;
        reference.eval();
        return PolicyLogProbs(batch, reference).LogProbs.detach().MoveToOuterDisposeScope();
    }

    private string FormatPrompt(Problem problem)
    {
        if (ChatFormat is null) return problem.Prompt;
        var messages = SystemPrompt is null
            ? new[] { new ChatMessage("user", problem.Prompt) }
            : [new ChatMessage("system", SystemPrompt), new ChatMessage("user", problem.Prompt)];
        return ChatFormat.Format(messages, addGenerationPrompt: true);
    }

    private void AppendMetrics(GrpoStepMetrics metrics) =>
        File.AppendAllText(Path.Combine(_options.OutputDir, "metrics.jsonl"), JsonSerializer.Serialize(metrics.ToDictionary()) + "\n");

    private void SaveCheckpoint(int totalSteps)
    {
        using var torchState = random.get_rng_state();
        var state = new TrainerState(_step, totalSteps, _dataPosition, _numTokens, _options.Seed, _rewards.Names.ToList(),
            _sampler.RandomState, torchState.data<byte>().ToArray());
        TrainingCheckpoint.Save(_options.OutputDir, state, dir =>
        {
            if (_lora is null) Checkpoint.Save(_model, Path.Combine(dir, TrainingCheckpoint.ModelFolderName));
            else _lora.Save(Path.Combine(dir, TrainingCheckpoint.AdapterFolderName));
            _optimizer.save_state_dict(Path.Combine(dir, TrainingCheckpoint.OptimizerFileName));
        });
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _sampler.Dispose();
        _optimizer.Dispose();
    }
}
