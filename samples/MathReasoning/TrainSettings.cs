using Grpo.Sampling.Server;
using Grpo.Training;
using Microsoft.Extensions.AI;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// The settings of a GRPO run of the sample. The defaults train the built-in model on 2 CPU cores in under 10 minutes;
/// README states the measured before/after accuracy.
/// </summary>
public sealed record TrainSettings
{
    /// <summary>The model folder (Hugging Face layout with tokenizer); null for the built-in model.</summary>
    public string? ModelFolder { get; init; }

    /// <summary>GSM8K-format JSONL rows to train on; null for generated arithmetic problems.</summary>
    public string? DataFile { get; init; }

    /// <summary>GSM8K-format JSONL rows to measure on; null holds out the first <see cref="EvalCount"/> rows of <see cref="DataFile"/>.</summary>
    public string? EvalDataFile { get; init; }

    /// <summary>The run's output folder; null for runs/<see cref="RunName"/>-TIMESTAMP.</summary>
    public string? OutputFolder { get; init; }

    /// <summary>The run's name: the default output folder's prefix and the adapter's name on rollout servers; default "math".</summary>
    public string RunName { get; init; } = "math";

    /// <summary>The checkpoint trained when <see cref="ModelFolder"/> is null; default the maths sample's built-in model.</summary>
    public string BuiltInModelFolder { get; init; } = BuiltInModel.InstalledFolder;

    /// <summary>
    /// Tools the model may call during its rollouts (<see cref="GrpoOptions.Tools"/>), described in every prompt; default
    /// none. The tool sample gives it a calculator.
    /// </summary>
    public IReadOnlyList<AIFunction> Tools { get; init; } = [];

    /// <summary>GRPO steps; default 200.</summary>
    public int Steps { get; init; } = 200;

    /// <summary>Seed of the training problems, sampling and adapter initialisation; default 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>LoRA rank (alpha is twice the rank); 0 trains every weight instead, and the KL reference is then a frozen copy. Default 16.</summary>
    public int LoraRank { get; init; } = 16;

    /// <summary>AdamW learning rate at the first step, decayed linearly to zero by the last (TRL's default schedule); default 1e-3, suited to LoRA on the small built-in model (full fine-tuning of it wants about 2e-4).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Completions per prompt, G; default 8.</summary>
    public int GroupSize { get; init; } = 8;

    /// <summary>Prompts per step; default 8.</summary>
    public int PromptsPerStep { get; init; } = 8;

    /// <summary>Sampling temperature during training; default 1.0.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>KL weight β; default 0.01, small enough not to hold learning back and large enough to report the KL.</summary>
    public double Beta { get; init; } = 0.01;

    /// <summary>Most tokens per completion; default 48 (built-in answers are about 20).</summary>
    public int MaxCompletionLength { get; init; } = 48;

    /// <summary>Held-out problems measured before, during and after training; default 256.</summary>
    public int EvalCount { get; init; } = 256;

    /// <summary>Measure held-out accuracy every this many steps; default 25.</summary>
    public int EvalEvery { get; init; } = 25;

    /// <summary>
    /// TorchSharp CPU threads; null for the default: 1 for the built-in model, which gains nothing from more and loses
    /// much on a busy machine (and whose README figures were measured so), the physical cores for a --model.
    /// </summary>
    public int? Threads { get; init; }

    /// <summary>Where the model runs: cpu, cuda or cuda:N (<see cref="Grpo.Runtime.ComputeDevice.Parse"/>); default cpu.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// The weights' dtype: bfloat16, float32, float16 or auto (<see cref="Grpo.Modeling.ComputeDtype.Parse"/>); default
    /// auto, the checkpoint's torch_dtype where the device computes in it natively, else float32.
    /// </summary>
    public string Dtype { get; init; } = "auto";

    /// <summary>The thread count the run uses: <see cref="Threads"/>, or its default for this model.</summary>
    public int ResolvedThreads => Threads ?? (ModelFolder is null ? 1 : Grpo.Runtime.CpuInfo.Current.PhysicalCores);

    /// <summary>Problems generated for training the built-in model; default 4096.</summary>
    public int GeneratedTrainCount { get; init; } = 4096;

    /// <summary>Base URLs of OpenAI-compatible servers (vLLM, grpo serve) to sample from instead of in process; empty (the default) samples in process.</summary>
    public IReadOnlyList<string> RolloutServers { get; init; } = [];

    /// <summary>Folder the servers load each adapter version from (same path for them); null for the run folder's published-adapters.</summary>
    public string? AdapterDir { get; init; }

    /// <summary>Bearer key of the rollout servers; null for none.</summary>
    public string? RolloutApiKey { get; init; }

    /// <summary>
    /// The rollout servers' settings for a run writing into <paramref name="outputDir"/>, or null to sample in process;
    /// throws when servers are asked for without an adapter (they hot-load adapters; full fine-tuning cannot be sent).
    /// </summary>
    public RolloutServerOptions? ToRolloutServerOptions(string outputDir)
    {
        if (RolloutServers.Count == 0) return null;
        if (Tools.Count > 0)
            throw new ArgumentException("--rollout-server cannot be used with tools: tool rollouts run in this process. Leave out --rollout-server.");
        if (LoraRank == 0)
            throw new ArgumentException("--rollout-server needs a LoRA adapter (--lora-rank above 0): " + ServerRollouts.FullFineTuningRefused);
        var options = new RolloutServerOptions
        {
            Servers = [.. RolloutServers.Select(s => Uri.TryCreate(s, UriKind.Absolute, out var uri) ? uri
                : throw new ArgumentException($"--rollout-server '{s}' is not a URL; give one like http://localhost:8000."))],
            AdapterDir = AdapterDir ?? Path.Combine(outputDir, "published-adapters"),
            ApiKey = RolloutApiKey,
            RunName = RunName,
        };
        options.Validate();
        return options;
    }

    /// <summary>The trainer's options for a run writing into <paramref name="outputDir"/>; throws naming any setting out of range.</summary>
    public GrpoOptions ToGrpoOptions(string outputDir)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(LoraRank, "--lora-rank");
        ArgumentOutOfRangeException.ThrowIfLessThan(EvalCount, 1, "--eval-count");
        ArgumentOutOfRangeException.ThrowIfLessThan(EvalEvery, 1, "--eval-every");
        ArgumentOutOfRangeException.ThrowIfLessThan(ResolvedThreads, 1, "--threads");
        var options = new GrpoOptions
        {
            NumGenerations = GroupSize,
            PromptsPerStep = PromptsPerStep,
            MaxCompletionLength = MaxCompletionLength,
            Temperature = Temperature,
            LearningRate = LearningRate,
            LearningRateSchedule = LearningRateSchedule.Linear,
            MaxSteps = Steps,
            Beta = Beta,
            Seed = Seed,
            OutputDir = outputDir,
            SaveSteps = Steps,
            LoggingSteps = 1,
            EvalSteps = EvalEvery,
            Tools = Tools,
            MaxToolCallingIterations = Evaluation.MaxToolCallingIterations,
            NumGenerationsEval = 0,   // greedy accuracy only: sampling the held-out set would double the run's time
            // The built-in model's activations take a few MB; recomputing them would only cost time. A real checkpoint keeps TRL's default.
            GradientCheckpointing = ModelFolder is not null,
        };
        options.Validate();
        return options;
    }
}
