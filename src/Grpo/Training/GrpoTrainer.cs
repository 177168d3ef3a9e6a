using Grpo.Data;
using Grpo.Logging;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Rewards;
using Grpo.Sampling;
using Grpo.Sampling.Server;
using Grpo.Tokenization;
using Grpo.Tools;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Grpo.Training;

/// <summary>
/// The common case in one object: GRPO on a model and tokenizer with reward functions and options. It builds a
/// <see cref="GrpoStep"/> (in-process rollouts, the rewards, the loss, AdamW, the KL reference) and a
/// <see cref="GrpoRun"/> around it (data order, seeds, checkpoints, evaluation, <c>metrics.jsonl</c> and TensorBoard
/// files in <see cref="GrpoOptions.OutputDir"/>, the <see cref="Logger"/>), and forwards to them. Build those two
/// yourself to change a part: another rollout source, a frozen reference, other sinks.
/// </summary>
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
    private readonly IReadOnlyList<int>? _eosTokenIds;
    private IRolloutSource? _rollouts;
    private PolicyOptimizer? _optimizer;
    private GrpoRun? _run;

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
        model.EnsureFits(tokenizer);
        (_model, _tokenizer, _lora, _options, _eosTokenIds) = (model, tokenizer, lora, options, eosTokenIds);
        _rewards = new RewardRunner(rewards, rewardTimeout);
        options.ResolveRewardWeights(_rewards.Names.Count);
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

    /// <summary>
    /// Makes one environment per rollout (TRL's <c>environment_factory</c>): reset with the rollout's row, its tool
    /// methods join <see cref="GrpoOptions.Tools"/>, and <see cref="EnvironmentReward"/> among the rewards scores it by
    /// its <see cref="ToolEnvironment.GetReward"/>. Needs a tool-rendering <see cref="ChatFormat"/>. Null for none.
    /// </summary>
    public Func<ToolEnvironment>? EnvironmentFactory { get; init; }

    /// <summary>Called after every step with its metrics, on the training thread.</summary>
    public Action<GrpoStepMetrics>? OnStep { get; init; }

    /// <summary>
    /// Sample from OpenAI-compatible servers (vLLM, <c>grpo serve</c>) instead of in process, publishing the adapter to
    /// them as it trains (<see cref="ServerRollouts"/>); null (the default) samples in process. Needs an adapter: full
    /// fine-tuning with servers is refused. Dropped servers are reported to <see cref="Logger"/> as warnings.
    /// </summary>
    public RolloutServerOptions? RolloutServer { get; init; }

    /// <summary>Receives a line of metrics every <see cref="GrpoOptions.LoggingSteps"/> steps; null for none.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Steps finished so far (after <see cref="ResumeFrom"/>, the checkpoint's step).</summary>
    public int Step => _run?.Step ?? 0;

    /// <summary>
    /// Restores a checkpoint written by this trainer (weights, optimizer, data position), so that <see cref="TrainAsync"/>
    /// continues the run exactly where it stopped. Call before <see cref="TrainAsync"/>, on a trainer built like the original one.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint is incomplete or was made with other reward functions or seed.</exception>
    public void ResumeFrom(string checkpointDir) => Run.ResumeFrom(checkpointDir);

    /// <summary>
    /// Trains until <see cref="GrpoOptions.MaxSteps"/> (or <see cref="GrpoOptions.NumTrainEpochs"/>) steps are done
    /// (<see cref="GrpoRun.TrainAsync"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The dataset is empty.</exception>
    /// <exception cref="InvalidDataException">A prompt is empty or does not fit in the model's context (named by row).</exception>
    /// <exception cref="GrpoTrainingException">A step failed; nothing of it was applied, the checkpoints are intact.</exception>
    public Task<IReadOnlyList<GrpoStepMetrics>> TrainAsync(IReadOnlyList<Problem> dataset, IProgress<GrpoStepMetrics>? progress = null,
        CancellationToken cancellationToken = default) =>
        Run.TrainAsync(dataset, null, progress, cancellationToken);

    /// <summary>
    /// Trains as <see cref="TrainAsync(IReadOnlyList{Problem}, IProgress{GrpoStepMetrics}?, CancellationToken)"/> and
    /// evaluates on <paramref name="evalDataset"/> every <see cref="GrpoOptions.EvalSteps"/> steps and after the last
    /// (<see cref="GrpoStepMetrics.Evaluation"/>, and <c>eval_*</c> metrics in every sink).
    /// </summary>
    public Task<IReadOnlyList<GrpoStepMetrics>> TrainAsync(IReadOnlyList<Problem> dataset, IReadOnlyList<Problem> evalDataset,
        IProgress<GrpoStepMetrics>? progress = null, CancellationToken cancellationToken = default) =>
        Run.TrainAsync(dataset, evalDataset ?? throw new ArgumentNullException(nameof(evalDataset)), progress, cancellationToken);

    /// <summary>Measures the policy as it is now on <paramref name="rows"/> (<see cref="GrpoEvaluator"/>).</summary>
    public Task<EvaluationResult> EvaluateAsync(IReadOnlyList<Problem> rows, CancellationToken cancellationToken = default) =>
        Run.EvaluateAsync(rows, cancellationToken);

    // Built on first use, once the init-only properties are set.
    private GrpoRun Run => _run ??= Build();

    private GrpoRun Build()
    {
        var reference = _options.Beta == 0 ? null : KlReference.For(_model, _lora, Reference);
        var sampling = new SamplingOptions
        {
            Temperature = _options.Temperature,
            TopP = _options.TopP,
            TopK = _options.TopK,
            MinP = _options.MinP ?? 0,
            MaxNewTokens = _options.MaxCompletionLength,
            EosTokenIds = _eosTokenIds,
            PromptsPerBatch = _options.PromptsPerStep,
        };
        bool tools = _options.Tools.Count > 0 || EnvironmentFactory is not null;
        // With tools, prompts describe them (the environment's methods from one probe instance, as TRL probes) and
        // rollouts run the tool loop.
        IReadOnlyList<AIFunctionDeclaration> declared = [.. _options.Tools, .. EnvironmentFactory?.Invoke().Tools ?? []];
        if (tools && ChatFormat is not IToolChatFormatter)
            throw new InvalidOperationException("Tools are described to the model and read back by its chat format; set ChatFormat to one that renders tools (ChatFormats.FromTokenizerConfig, ChatMlFormatter, Llama3Formatter).");
        if (tools && RolloutServer is not null)
            throw new NotSupportedException("Tool rollouts run in this process; rollout servers return single completions. Leave RolloutServer unset to train with tools.");
        _rollouts = tools
            ? new ToolRollouts(_model, _tokenizer, (IToolChatFormatter)ChatFormat!, sampling, _options.Tools, _options.MaxToolCallingIterations, _options.ToolTimeout, EnvironmentFactory)
            : RolloutServer is null
                ? new InProcessRollouts(_model, _tokenizer, sampling)
                : new ServerRollouts(_model, _lora, _tokenizer, sampling, RolloutServer, () => _run?.Step ?? 0, Logger);
        var weights = new CheckpointWeights(_model, _lora);
        _optimizer = new PolicyOptimizer(weights.Trainable, _options);
        var step = new GrpoStep(_model, _rollouts, _rewards, new GrpoLoss(GrpoLossSettings.From(_options)), _optimizer, reference, _options);
        List<IMetricsSink> sinks =
        [
            new JsonlMetricsSink(Path.Combine(_options.OutputDir, "metrics.jsonl")),
            new TensorBoardMetricsSink(Path.Combine(_options.OutputDir, "runs")),
        ];
        if (Logger is not null) sinks.Add(new LoggerMetricsSink(Logger, _options.LoggingSteps));
        return new GrpoRun(step, new PromptEncoder(_tokenizer, ChatFormat, SystemPrompt, declared), weights, _optimizer, _options,
            _model.Config.MaxPositionEmbeddings, new GrpoEvaluator(_rollouts, _rewards, _options), sinks)
        {
            OnStep = OnStep,
        };
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _run?.Dispose();
        (_rollouts as IDisposable)?.Dispose();
        _optimizer?.Dispose();
    }
}
