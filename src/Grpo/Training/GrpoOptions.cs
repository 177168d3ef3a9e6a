namespace Grpo.Training;

/// <summary>
/// Every knob of a GRPO run, with TRL's defaults (<c>GRPOConfig</c> over Transformers' <c>TrainingArguments</c>; TRL's own
/// names in parentheses). Each option says where it comes from: GRPO (DeepSeekMath, arXiv:2402.03300), DAPO
/// (arXiv:2503.14476: clip-higher, dynamic sampling, token-level loss, overlong filtering), Dr. GRPO (arXiv:2503.20783),
/// GSPO (arXiv:2507.18071), INTELLECT-2 (arXiv:2505.07291), "Beyond the 80/20 rule" (arXiv:2506.01939).
/// Call <see cref="Validate"/> before any work; it names the option at fault and how to fix it.
/// </summary>
public sealed record GrpoOptions
{
    // ---- Sampling ----

    /// <summary>
    /// G, the number of completions sampled per prompt (<c>num_generations</c>). Default 8. Advantages compare a completion
    /// with the others of its group, so G must be at least 2.
    /// </summary>
    public int NumGenerations { get; init; } = 8;

    /// <summary>
    /// Prompts sampled per optimizer step; the generation batch is <c>PromptsPerStep × NumGenerations</c> completions.
    /// Default 1: TRL's defaults (<c>per_device_train_batch_size</c> 8, one accumulation step, 8 generations) put one
    /// prompt's group in each step.
    /// </summary>
    public int PromptsPerStep { get; init; } = 1;

    /// <summary>Most tokens generated per completion (<c>max_completion_length</c>). Default 256. Also Dr. GRPO's loss denominator.</summary>
    public int MaxCompletionLength { get; init; } = 256;

    // Multi-turn rollouts with tools (TRL's `tools` and `max_tool_calling_iterations`).

    /// <summary>
    /// Functions the model may call during a rollout (TRL's <c>tools</c>): described in the prompt by the chat format,
    /// invoked when a completion ends its turn with calls, their replies appended as tool turns and masked out of the
    /// loss. Different rollouts call them at the same time, so they must be thread-safe (state per rollout belongs in a
    /// <see cref="Tools.ToolEnvironment"/>). Default none: single-turn rollouts.
    /// </summary>
    public IReadOnlyList<Microsoft.Extensions.AI.AIFunction> Tools { get; init; } = [];

    /// <summary>
    /// Most rounds of tool calls per completion (TRL's <c>max_tool_calling_iterations</c>); a completion that still
    /// calls after that many ends with <see cref="Sampling.FinishReason.ToolCallLimit"/>. Default null = unlimited, as
    /// in TRL (the completion-length budget still bounds it).
    /// </summary>
    public int? MaxToolCallingIterations { get; init; }

    /// <summary>Longest a tool call may run before its reply to the model is a timeout error; default 30 s.</summary>
    public TimeSpan ToolTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Sampling temperature (<c>temperature</c>). Default 1.0. Log-probs for the loss are taken from logits divided by the
    /// same temperature, so the ratio compares like with like.
    /// </summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches this (<c>top_p</c>). Default 1.0 (off). Range (0, 1].</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Keep only the k most likely tokens (<c>top_k</c>). Default 0 (off).</summary>
    public int TopK { get; init; }

    /// <summary>
    /// Drop tokens whose probability is below this fraction of the most likely token's (<c>min_p</c>). Default null (off).
    /// Range [0, 1]; 0.01–0.2 is typical.
    /// </summary>
    public double? MinP { get; init; }

    // ---- Optimisation ----

    /// <summary>Peak AdamW learning rate (<c>learning_rate</c>). Default 1e-6 (TRL's default; LoRA runs often use 1e-5 to 5e-5).</summary>
    public double LearningRate { get; init; } = 1e-6;

    /// <summary>Shape of the learning rate after warmup (<c>lr_scheduler_type</c>). Default <see cref="Training.LearningRateSchedule.Linear"/> (Transformers' default).</summary>
    public LearningRateSchedule LearningRateSchedule { get; init; } = LearningRateSchedule.Linear;

    /// <summary>Steps of linear warmup from 0 to the peak learning rate (<c>warmup_steps</c>). Default 0. When above 0 it wins over <see cref="WarmupRatio"/>.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Warmup as a fraction of the total steps (<c>warmup_ratio</c>). Default 0.0. Range [0, 1).</summary>
    public double WarmupRatio { get; init; }

    /// <summary>Total optimizer steps (<c>max_steps</c>). Default -1: derived from <see cref="NumTrainEpochs"/> and the dataset size.</summary>
    public int MaxSteps { get; init; } = -1;

    /// <summary>Passes over the prompts when <see cref="MaxSteps"/> is -1 (<c>num_train_epochs</c>). Default 3.0.</summary>
    public double NumTrainEpochs { get; init; } = 3.0;

    /// <summary>AdamW β1, the decay of the gradient's running mean (<c>adam_beta1</c>). Default 0.9. Range [0, 1).</summary>
    public double AdamBeta1 { get; init; } = 0.9;

    /// <summary>AdamW β2, the decay of the squared gradient's running mean (<c>adam_beta2</c>). Default 0.999. Range [0, 1).</summary>
    public double AdamBeta2 { get; init; } = 0.999;

    /// <summary>AdamW ε, added to the denominator (<c>adam_epsilon</c>). Default 1e-8. Must be above 0.</summary>
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>AdamW decoupled weight decay (<c>weight_decay</c>). Default 0.0.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Clip the global gradient L2 norm to this before each step (<c>max_grad_norm</c>). Default 1.0; 0 turns clipping off.</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>
    /// Micro-batches per optimizer step (<c>gradient_accumulation_steps</c>). Default 1. The generation batch is split into
    /// this many equal micro-batches, so it must divide <c>PromptsPerStep × NumGenerations</c>. The loss is normalised
    /// over the whole step, as with <see cref="MaxTokensPerMicroBatch"/>, which packs by tokens instead of rows.
    /// </summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    // ---- Training memory ----

    /// <summary>
    /// Most tokens in one micro-batch of the policy pass, padding included (rows × (longest prompt + longest
    /// completion) of the micro-batch); 0 turns the budget off. Default 0: the step is cut into
    /// <see cref="GradientAccumulationSteps"/> equal slices. With a budget, the step's completions are sorted by length
    /// and packed greedily into micro-batches that stay within it (a single row longer than the budget gets a
    /// micro-batch of its own), so the activation memory of a micro-batch, and so the peak, no longer grows with
    /// <c>PromptsPerStep × NumGenerations</c>. The gradients of all micro-batches are accumulated into one optimizer
    /// step whose loss and gradient equal the one-big-batch result for every <see cref="LossType"/>: the normalisers
    /// are the step's (tokens in the step, completions in the step), as TRL's <c>num_items_in_batch</c> is for dapo
    /// (<see cref="GrpoLossInputs.CompletionsInStep"/> says what that means for each type; for bnpo, whose TRL value
    /// depends on the split, it is the one-big-batch value). Two things stay per micro-batch, as in TRL: the
    /// <see cref="TopEntropyQuantile"/> threshold, and LoRA dropout's masks (drawn per micro-batch shape). LUSPO's
    /// micro-batches are padded to the step's longest completion, since its mean counts padding. Not in TRL (its
    /// closest is <c>per_device_train_batch_size</c>, a fixed row count). Requires
    /// <see cref="GradientAccumulationSteps"/> = 1. A few thousand tokens is typical for a 0.5B model on a CPU.
    /// </summary>
    public int MaxTokensPerMicroBatch { get; init; }

    /// <summary>
    /// Recompute each decoder layer's activations in the backward pass instead of keeping them
    /// (<c>gradient_checkpointing</c>, Transformers; Chen et al. 2016, arXiv:1604.06174): only each layer's input is
    /// kept, so a policy pass holds one layer's activations instead of all of them, for one more forward pass of the
    /// layers (with a frozen base, whose backward costs about one forward, about 1.5× the layers' compute). On the
    /// Qwen2.5-0.5B shape (fp32, LoRA r16, 4 × 256 tokens) it took the policy pass's peak above the weights from 3.4 GB
    /// to 1.5 GB, and from 2.6 GB to 0.3 GB with glibc's mmap threshold fixed (<c>MALLOC_MMAP_THRESHOLD_=131072</c>):
    /// the rest is freed memory the allocator's heap keeps.
    /// Default true, TRL's <c>GRPOConfig</c> default. Gradients are the same as without it: LoRA dropout is replayed
    /// from the generator's state saved at the forward pass. Off the CPU, where TorchSharp 0.107 cannot save the
    /// generator's state, it needs LoRA dropout 0.
    /// </summary>
    public bool GradientCheckpointing { get; init; } = true;

    // ---- The GRPO objective ----

    /// <summary>
    /// β, the weight of the per-token KL(π ‖ π_ref) penalty (<c>beta</c>, GRPO). Default 0.0 as in TRL today (DAPO and
    /// Dr. GRPO drop the term); 0 skips the reference forward pass entirely. DeepSeek-R1 used 0.001; DeepSeekMath 0.04.
    /// </summary>
    public double Beta { get; init; }

    /// <summary>ε, the lower clip: the ratio is clipped below at 1 − ε (<c>epsilon</c>, PPO/GRPO). Default 0.2. Range (0, 1).</summary>
    public double Epsilon { get; init; } = 0.2;

    /// <summary>
    /// The upper clip ε_high: the ratio is clipped above at 1 + ε_high (<c>epsilon_high</c>, DAPO "clip-higher", which
    /// recommends 0.28 so unlikely tokens can still rise). Default null: the same as <see cref="Epsilon"/>.
    /// </summary>
    public double? EpsilonHigh { get; init; }

    /// <summary>
    /// δ, a cap on the unclipped ratio, so a token with negative advantage and a huge ratio cannot blow up the loss
    /// (<c>delta</c>, two-sided clipping from INTELLECT-2). Default null (off). Must be above 1; above 1 + ε_high is recommended.
    /// </summary>
    public double? Delta { get; init; }

    /// <summary>How per-token losses are reduced (<c>loss_type</c>). Default <see cref="Training.LossType.Dapo"/>, TRL's default.</summary>
    public LossType LossType { get; init; } = LossType.Dapo;

    /// <summary>How centred rewards are scaled into advantages (<c>scale_rewards</c>). Default <see cref="Training.ScaleRewards.Group"/>.</summary>
    public ScaleRewards ScaleRewards { get; init; } = ScaleRewards.Group;

    /// <summary>Per-token or per-sequence policy ratio (<c>importance_sampling_level</c>). Default <see cref="Training.ImportanceSamplingLevel.Token"/>; Sequence is GSPO.</summary>
    public ImportanceSamplingLevel ImportanceSamplingLevel { get; init; } = ImportanceSamplingLevel.Token;

    /// <summary>
    /// μ, optimizer steps taken on each generation batch (<c>num_iterations</c>, GRPO Algorithm 1). Default 1. Above 1, the
    /// log-probs recorded at sampling time are the "old" policy of the ratio; at 1 the ratio is exactly 1.
    /// </summary>
    public int NumIterations { get; init; } = 1;

    /// <summary>
    /// One weight per reward function, in the order the functions are given (<c>reward_weights</c>). Default null: every
    /// weight is 1. A completion's reward is the weighted sum of the scores that are not NaN.
    /// </summary>
    public IReadOnlyList<double>? RewardWeights { get; init; }

    /// <summary>
    /// Leave completions cut off at <see cref="MaxCompletionLength"/> out of the loss (<c>mask_truncated_completions</c>,
    /// DAPO overlong filtering): a cut-off answer is not a wrong one. Default false.
    /// </summary>
    public bool MaskTruncatedCompletions { get; init; }

    /// <summary>
    /// ρ: keep the policy-gradient term only on the top-ρ fraction of tokens by entropy (<c>top_entropy_quantile</c>,
    /// "Beyond the 80/20 rule", which recommends 0.2). Default 1.0 (all tokens). Range [0, 1]; 0 keeps the highest-entropy token(s) only.
    /// </summary>
    public double TopEntropyQuantile { get; init; } = 1.0;

    /// <summary>
    /// How the scores of several reward functions are combined into advantages (<c>multi_objective_aggregation</c>).
    /// Default <see cref="Training.MultiObjectiveAggregation.SumThenNormalize"/>; NormalizeThenSum is GDPO.
    /// </summary>
    public MultiObjectiveAggregation MultiObjectiveAggregation { get; init; } = MultiObjectiveAggregation.SumThenNormalize;

    /// <summary>SAPO's gate temperature τ for tokens with positive advantage (<c>sapo_temperature_pos</c>). Default 1.0. Must be above 0.</summary>
    public double SapoTemperaturePos { get; init; } = 1.0;

    /// <summary>SAPO's gate temperature τ for tokens with zero or negative advantage (<c>sapo_temperature_neg</c>). Default 1.05. Must be above 0.</summary>
    public double SapoTemperatureNeg { get; init; } = 1.05;

    /// <summary>VESPO's power k for positive advantages: how hard ratios below 1 are down-weighted (<c>vespo_k_pos</c>). Default 2.0.</summary>
    public double VespoKPos { get; init; } = 2.0;

    /// <summary>VESPO's decay λ for positive advantages: how hard ratios above 1 are down-weighted (<c>vespo_lambda_pos</c>). Default 3.0.</summary>
    public double VespoLambdaPos { get; init; } = 3.0;

    /// <summary>VESPO's power k for zero or negative advantages (<c>vespo_k_neg</c>). Default 3.0.</summary>
    public double VespoKNeg { get; init; } = 3.0;

    /// <summary>VESPO's decay λ for zero or negative advantages (<c>vespo_lambda_neg</c>). Default 2.0. TRL floors λ at 1e-4.</summary>
    public double VespoLambdaNeg { get; init; } = 2.0;

    /// <summary>
    /// Multiply the per-token KL by the policy ratio π/π_old, the importance-corrected (unbiased) KL estimator of
    /// DeepSeek-V3.2 (<c>use_bias_correction_kl</c>). Default false. The reference is the base model (a LoRA run's
    /// adapter switched off); TRL's <c>sync_ref_model</c> is not offered.
    /// </summary>
    public bool UseBiasCorrectionKl { get; init; }

    /// <summary>
    /// δ of DeepSeek-V3.2's off-policy sequence mask (<c>off_policy_mask_threshold</c>): a completion with negative
    /// advantage whose mean per-token log(π_sampler / π) exceeds this is left out of the policy term. Uses the sampler's
    /// log-probs when the rollout gives them, else π_old. Default null (off). Must be 0 or more (0.5 is typical).
    /// </summary>
    public double? OffPolicyMaskThreshold { get; init; }

    /// <summary>
    /// Weight of the entropy bonus: the loss becomes L − coef·H, H the mean per-token entropy of the tokens the policy
    /// term uses (<c>entropy_coef</c>). Default 0.0 (off). With <see cref="UseAdaptiveEntropy"/>, the starting coefficient.
    /// </summary>
    public double EntropyCoef { get; init; }

    /// <summary>
    /// Skywork-OR1's adaptive entropy control (<c>use_adaptive_entropy</c>): after each optimizer step the coefficient
    /// moves by <see cref="EntropyCoefDelta"/> towards more bonus when the step's entropy is at or below
    /// <see cref="EntropyTarget"/> and less otherwise, within [<see cref="EntropyCoefMin"/>, <see cref="EntropyCoefMax"/>],
    /// and is applied only while the last step's entropy is at or below the target (<see cref="EntropyController"/>). Default false.
    /// </summary>
    public bool UseAdaptiveEntropy { get; init; }

    /// <summary>Lower bound of the adaptive entropy coefficient (<c>entropy_coef_min</c>). Default 0.0.</summary>
    public double EntropyCoefMin { get; init; }

    /// <summary>Upper bound of the adaptive entropy coefficient (<c>entropy_coef_max</c>). Default 1.0.</summary>
    public double EntropyCoefMax { get; init; } = 1.0;

    /// <summary>Step of the adaptive entropy coefficient per optimizer step (<c>entropy_coef_delta</c>). Default 0.005. Must be 0 or more.</summary>
    public double EntropyCoefDelta { get; init; } = 0.005;

    /// <summary>
    /// Target mean per-token entropy in nats for adaptive control (<c>entropy_target</c>). Default 0.2, which real models
    /// (2–10 nats) rarely reach: set it near the <c>entropy</c> metric seen early in training.
    /// </summary>
    public double EntropyTarget { get; init; } = 0.2;

    /// <summary>
    /// Weight the loss by π_old / π_sampler when the completions' log-probs come from another engine than the trainer's
    /// forward pass (a server, a lower-precision sampler), as <see cref="SamplerImportanceSamplingMode"/> says
    /// (<c>vllm_importance_sampling_correction</c>). Default true, as TRL's. It applies when the rollout source is another
    /// engine (<see cref="Grpo.Sampling.IRolloutSource.LogProbsMatchTrainer"/> false): TRL applies it to vLLM only, and
    /// the in-process sampler computes the trainer's own log-probs, so there it would cost a forward pass for a weight of 1.
    /// </summary>
    public bool SamplerImportanceSamplingCorrection { get; init; } = true;

    /// <summary>Per-token or per-sequence, truncated or masked correction (<c>vllm_importance_sampling_mode</c>). Default <see cref="Training.SamplerImportanceSamplingMode.SequenceMask"/>.</summary>
    public SamplerImportanceSamplingMode SamplerImportanceSamplingMode { get; init; } = SamplerImportanceSamplingMode.SequenceMask;

    /// <summary>C_max: the ratio is clipped to it (truncate) or zeroed above it (mask) (<c>vllm_importance_sampling_clip_max</c>). Default 3.0; null: no upper bound.</summary>
    public double? SamplerImportanceSamplingClipMax { get; init; } = 3.0;

    /// <summary>C_min: the ratio is clipped to it (truncate) or zeroed below it (mask) (<c>vllm_importance_sampling_clip_min</c>). Default null: no lower bound.</summary>
    public double? SamplerImportanceSamplingClipMin { get; init; }

    /// <summary>
    /// Leave out of the loss, and out of its token count, groups whose completions all got the same reward: their
    /// advantages are all 0 and only dilute the batch (DAPO dynamic sampling, without its re-sampling to refill the
    /// batch; not in TRL). Default false.
    /// </summary>
    public bool DropZeroStdGroups { get; init; }

    /// <summary>
    /// Tokens whose logits are computed at once when taking log-probs of the sampled tokens; bounds the float32
    /// [tokens × vocab] working set. Default null: about 64 MiB of logits per chunk (16M / vocab tokens). Not in TRL.
    /// </summary>
    public int? LogProbChunkTokens { get; init; }

    /// <summary>
    /// Cut a prompt that, with <see cref="MaxCompletionLength"/>, would not fit in the model's context on the left (keeping
    /// its end: the question and the generation prompt) instead of refusing the row. Default false: an overlong row is
    /// an error naming the row and the lengths, before any training. Not in TRL.
    /// </summary>
    public bool TruncatePromptsLeft { get; init; }

    /// <summary>
    /// Seed of the data order and of every step's rollouts and dropout (<c>seed</c>). Default 42, Transformers' default.
    /// Each step draws from generators seeded with (Seed, step), so a resumed run samples what the uninterrupted one did.
    /// The adapter's initialisation has its own seed, <see cref="Grpo.Lora.LoraOptions.Seed"/>; a trainer never
    /// re-initialises an adapter it is given.
    /// </summary>
    public int Seed { get; init; } = 42;

    // ---- Checkpoints and logs ----

    /// <summary>Folder for checkpoints, the adapter and the metrics log (<c>output_dir</c>). Default "trainer_output", Transformers' default.</summary>
    public string OutputDir { get; init; } = "trainer_output";

    /// <summary>Write a checkpoint every this many optimizer steps (<c>save_steps</c>), and after the last. Default 500; 0 saves only after the last step.</summary>
    public int SaveSteps { get; init; } = 500;

    /// <summary>
    /// Keep at most this many checkpoints, deleting the oldest after each save (<c>save_total_limit</c>). Default null:
    /// keep every one. At least 1.
    /// </summary>
    public int? SaveTotalLimit { get; init; }

    /// <summary>
    /// Write a step line to the <c>ILogger</c> (and the <c>grpo train</c> console) every this many steps
    /// (<c>logging_steps</c>). Default 10, TRL's default. <c>metrics.jsonl</c>, TensorBoard, <c>IProgress</c> and
    /// <c>OnStep</c> see every step.
    /// </summary>
    public int LoggingSteps { get; init; } = 10;

    // ---- Evaluation (when the run is given an eval set) ----

    /// <summary>
    /// Evaluate on the eval set every this many steps, and after the last (<c>eval_steps</c> with
    /// <c>eval_strategy="steps"</c>). Default null: <see cref="LoggingSteps"/>, as Transformers defaults it.
    /// </summary>
    public int? EvalSteps { get; init; }

    /// <summary>
    /// Sampled completions per eval row, for <c>eval_reward</c> and <c>eval_pass@k</c> (<c>num_generations_eval</c>).
    /// Default null: <see cref="NumGenerations"/>. 0 skips sampling: only the greedy <c>eval_accuracy</c> is measured.
    /// Otherwise at least 2.
    /// </summary>
    public int? NumGenerationsEval { get; init; }

    /// <summary>The upper clip in effect: <see cref="EpsilonHigh"/> when set, else <see cref="Epsilon"/>.</summary>
    public double EffectiveEpsilonHigh => EpsilonHigh ?? Epsilon;

    /// <summary>Completions sampled per optimizer step: <c>PromptsPerStep × NumGenerations</c>.</summary>
    public int GenerationBatchSize => PromptsPerStep * NumGenerations;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> (or <see cref="ArgumentOutOfRangeException"/>) naming the first option that is
    /// out of range and how to fix it. Call it before loading anything, so no work is lost to a typo.
    /// </summary>
    public void Validate()
    {
        AtLeast(NumGenerations, 2, nameof(NumGenerations),
            "advantages compare each completion with the others of its group; use 2 or more (TRL's default is 8)");
        AtLeast(PromptsPerStep, 1, nameof(PromptsPerStep), "sample at least one prompt per step");
        AtLeast(MaxCompletionLength, 1, nameof(MaxCompletionLength), "allow at least one generated token");
        Check(MaxToolCallingIterations is null || MaxToolCallingIterations >= 0, MaxToolCallingIterations, nameof(MaxToolCallingIterations),
            "use null for no limit, 0 to run no tools, or a positive number of rounds");
        Check(ToolTimeout > TimeSpan.Zero, ToolTimeout, nameof(ToolTimeout), "give tools a positive time such as 30 seconds");
        Check(double.IsFinite(Temperature) && Temperature > 0, Temperature, nameof(Temperature),
            "use a temperature above 0 (1.0 samples from the model's own distribution)");
        Check(TopP > 0 && TopP <= 1, TopP, nameof(TopP), "use a value in (0, 1]; 1.0 turns nucleus sampling off");
        AtLeast(TopK, 0, nameof(TopK), "use 0 to turn top-k off, or a positive count");
        Check(MinP is null || (MinP >= 0 && MinP <= 1), MinP, nameof(MinP), "use a value in [0, 1], or null to turn min-p off");

        Check(double.IsFinite(LearningRate) && LearningRate > 0, LearningRate, nameof(LearningRate), "use a positive learning rate such as 1e-6");
        AtLeast(WarmupSteps, 0, nameof(WarmupSteps), "use 0 for no warmup");
        Check(WarmupRatio >= 0 && WarmupRatio < 1, WarmupRatio, nameof(WarmupRatio), "use a fraction in [0, 1)");
        Check(MaxSteps == -1 || MaxSteps >= 1, MaxSteps, nameof(MaxSteps), "use -1 to derive it from NumTrainEpochs, or a positive step count");
        Check(double.IsFinite(NumTrainEpochs) && NumTrainEpochs > 0, NumTrainEpochs, nameof(NumTrainEpochs), "use a positive number of epochs");
        Check(AdamBeta1 >= 0 && AdamBeta1 < 1, AdamBeta1, nameof(AdamBeta1), "use a value in [0, 1), typically 0.9");
        Check(AdamBeta2 >= 0 && AdamBeta2 < 1, AdamBeta2, nameof(AdamBeta2), "use a value in [0, 1), typically 0.999");
        Check(double.IsFinite(AdamEpsilon) && AdamEpsilon > 0, AdamEpsilon, nameof(AdamEpsilon), "use a small positive value such as 1e-8");
        Check(double.IsFinite(WeightDecay) && WeightDecay >= 0, WeightDecay, nameof(WeightDecay), "use 0 or a positive decay");
        Check(double.IsFinite(MaxGradNorm) && MaxGradNorm >= 0, MaxGradNorm, nameof(MaxGradNorm), "use a positive norm such as 1.0, or 0 to turn clipping off");
        AtLeast(GradientAccumulationSteps, 1, nameof(GradientAccumulationSteps), "use 1 or more");
        if (GenerationBatchSize % GradientAccumulationSteps != 0)
            throw new ArgumentException(
                $"The generation batch of {GenerationBatchSize} completions (PromptsPerStep {PromptsPerStep} × NumGenerations " +
                $"{NumGenerations}) does not split into {GradientAccumulationSteps} equal micro-batches; make " +
                "GradientAccumulationSteps a divisor of PromptsPerStep × NumGenerations.",
                nameof(GradientAccumulationSteps));

        AtLeast(MaxTokensPerMicroBatch, 0, nameof(MaxTokensPerMicroBatch), "use 0 (equal slices) or a token budget such as 4096");
        if (MaxTokensPerMicroBatch > 0 && GradientAccumulationSteps != 1)
            throw new ArgumentException(
                $"MaxTokensPerMicroBatch ({MaxTokensPerMicroBatch}) and GradientAccumulationSteps ({GradientAccumulationSteps}) both split " +
                "the step into micro-batches; set GradientAccumulationSteps to 1 to use the token budget, or MaxTokensPerMicroBatch to 0.",
                nameof(MaxTokensPerMicroBatch));

        Check(double.IsFinite(Beta) && Beta >= 0, Beta, nameof(Beta), "use 0 (no KL term, no reference pass) or a small positive weight such as 0.001");
        Check(Epsilon > 0 && Epsilon < 1, Epsilon, nameof(Epsilon), "use a clip range in (0, 1), typically 0.2");
        Check(EpsilonHigh is null || (double.IsFinite(EpsilonHigh.Value) && EpsilonHigh > 0), EpsilonHigh, nameof(EpsilonHigh),
            "use a positive value (DAPO recommends 0.28), or null to reuse Epsilon");
        Check(Delta is null || (double.IsFinite(Delta.Value) && Delta > 1), Delta, nameof(Delta),
            $"use a cap above 1, recommended above 1 + EpsilonHigh = {1 + EffectiveEpsilonHigh}, or null to turn it off");
        Check(Enum.IsDefined(LossType), LossType, nameof(LossType), "use Grpo, Bnpo, DrGrpo, Dapo, Cispo, Sapo, Luspo or Vespo");
        Check(Enum.IsDefined(ScaleRewards), ScaleRewards, nameof(ScaleRewards), "use Group, Batch or None");
        Check(Enum.IsDefined(ImportanceSamplingLevel), ImportanceSamplingLevel, nameof(ImportanceSamplingLevel), "use Token or Sequence");
        Check(Enum.IsDefined(LearningRateSchedule), LearningRateSchedule, nameof(LearningRateSchedule), "use Constant, Linear or Cosine");
        AtLeast(NumIterations, 1, nameof(NumIterations), "use 1 (on-policy) or more");
        if (RewardWeights is not null)
        {
            if (RewardWeights.Count == 0)
                throw new ArgumentException("RewardWeights is empty; give one weight per reward function, or null for all 1.", nameof(RewardWeights));
            for (var i = 0; i < RewardWeights.Count; i++)
                if (!double.IsFinite(RewardWeights[i]))
                    throw new ArgumentException($"RewardWeights[{i}] is {RewardWeights[i]}; every weight must be a finite number.", nameof(RewardWeights));
        }
        Check(TopEntropyQuantile >= 0 && TopEntropyQuantile <= 1, TopEntropyQuantile, nameof(TopEntropyQuantile),
            "use a fraction in [0, 1]; 1.0 keeps every token, 0.2 is the paper's choice");
        Check(Enum.IsDefined(MultiObjectiveAggregation), MultiObjectiveAggregation, nameof(MultiObjectiveAggregation), "use SumThenNormalize or NormalizeThenSum");
        Check(double.IsFinite(SapoTemperaturePos) && SapoTemperaturePos > 0, SapoTemperaturePos, nameof(SapoTemperaturePos), "use a positive temperature such as 1.0");
        Check(double.IsFinite(SapoTemperatureNeg) && SapoTemperatureNeg > 0, SapoTemperatureNeg, nameof(SapoTemperatureNeg), "use a positive temperature such as 1.05");
        Check(double.IsFinite(VespoKPos), VespoKPos, nameof(VespoKPos), "use a finite power such as 2.0");
        Check(double.IsFinite(VespoKNeg), VespoKNeg, nameof(VespoKNeg), "use a finite power such as 3.0");
        Check(double.IsFinite(VespoLambdaPos), VespoLambdaPos, nameof(VespoLambdaPos), "use a finite decay such as 3.0");
        Check(double.IsFinite(VespoLambdaNeg), VespoLambdaNeg, nameof(VespoLambdaNeg), "use a finite decay such as 2.0");
        Check(OffPolicyMaskThreshold is null || (double.IsFinite(OffPolicyMaskThreshold.Value) && OffPolicyMaskThreshold >= 0), OffPolicyMaskThreshold,
            nameof(OffPolicyMaskThreshold), "use a KL threshold of 0 or more such as 0.5, or null to turn the mask off");
        Check(double.IsFinite(EntropyCoef), EntropyCoef, nameof(EntropyCoef), "use 0 (off) or a small weight such as 0.001");
        Check(double.IsFinite(EntropyCoefMin) && double.IsFinite(EntropyCoefMax) && EntropyCoefMin <= EntropyCoefMax, EntropyCoefMin, nameof(EntropyCoefMin),
            $"use finite bounds with EntropyCoefMin ≤ EntropyCoefMax (now {EntropyCoefMax})");
        Check(double.IsFinite(EntropyCoefDelta) && EntropyCoefDelta >= 0, EntropyCoefDelta, nameof(EntropyCoefDelta), "use a step of 0 or more such as 0.005");
        Check(double.IsFinite(EntropyTarget), EntropyTarget, nameof(EntropyTarget), "use a finite entropy in nats");
        Check(Enum.IsDefined(SamplerImportanceSamplingMode), SamplerImportanceSamplingMode, nameof(SamplerImportanceSamplingMode),
            "use TokenTruncate, TokenMask, SequenceTruncate or SequenceMask");
        Check(SamplerImportanceSamplingClipMin is null || SamplerImportanceSamplingClipMax is null || SamplerImportanceSamplingClipMin < SamplerImportanceSamplingClipMax,
            SamplerImportanceSamplingClipMin, nameof(SamplerImportanceSamplingClipMin), $"use a lower bound below SamplerImportanceSamplingClipMax ({SamplerImportanceSamplingClipMax})");
        Check(!SamplerImportanceSamplingCorrection || SamplerImportanceSamplingMode is SamplerImportanceSamplingMode.TokenMask or SamplerImportanceSamplingMode.SequenceMask
              || SamplerImportanceSamplingClipMin is not null || SamplerImportanceSamplingClipMax is not null,
            SamplerImportanceSamplingClipMax, nameof(SamplerImportanceSamplingClipMax), "a truncate mode needs SamplerImportanceSamplingClipMax or SamplerImportanceSamplingClipMin set");
        Check(LogProbChunkTokens is null || LogProbChunkTokens >= 1, LogProbChunkTokens, nameof(LogProbChunkTokens),
            "use a positive token count, or null for about 64 MiB of logits per chunk");

        if (string.IsNullOrWhiteSpace(OutputDir))
            throw new ArgumentException("OutputDir is empty; give a folder for checkpoints and logs.", nameof(OutputDir));
        AtLeast(SaveSteps, 0, nameof(SaveSteps), "use 0 to save only at the end, or a positive step interval");
        AtLeast(LoggingSteps, 1, nameof(LoggingSteps), "use 1 or more");
        Check(SaveTotalLimit is null or >= 1, SaveTotalLimit, nameof(SaveTotalLimit), "keep at least 1 checkpoint, or null to keep all");
        Check(EvalSteps is null or >= 1, EvalSteps, nameof(EvalSteps), "use 1 or more, or null to evaluate every LoggingSteps steps");
        Check(NumGenerationsEval is null or 0 or >= 2, NumGenerationsEval, nameof(NumGenerationsEval),
            "use 0 for greedy accuracy only, 2 or more for sampled rewards and pass@k, or null for NumGenerations");
    }

    /// <summary>
    /// The weight of each of <paramref name="rewardFunctionCount"/> reward functions: <see cref="RewardWeights"/>, or all 1
    /// when it is null. Throws when the counts differ.
    /// </summary>
    public double[] ResolveRewardWeights(int rewardFunctionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rewardFunctionCount, 1);
        if (RewardWeights is null)
            return Enumerable.Repeat(1.0, rewardFunctionCount).ToArray();
        if (RewardWeights.Count != rewardFunctionCount)
            throw new ArgumentException(
                $"RewardWeights has {RewardWeights.Count} weights but there are {rewardFunctionCount} reward functions; " +
                "give exactly one weight per function, in the same order, or null for all 1.",
                nameof(RewardWeights));
        return RewardWeights.ToArray();
    }

    private static void AtLeast(int value, int minimum, string name, string fix) =>
        Check(value >= minimum, value, name, fix);

    private static void Check(bool ok, object? value, string name, string fix)
    {
        if (!ok)
            throw new ArgumentOutOfRangeException(name, value, $"{name} = {value?.ToString() ?? "null"} is out of range: {fix}.");
    }
}
