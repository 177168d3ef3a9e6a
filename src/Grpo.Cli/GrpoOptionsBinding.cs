using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Grpo.Training;

namespace Grpo.Cli;

/// <summary>
/// The <see cref="GrpoOptions"/> fields <c>grpo train</c> takes as options, and the JSON config file they may come
/// from instead. A JSON file maps onto GrpoOptions by property name (case-insensitive, enums by name); unknown names
/// and computed properties (<c>EffectiveEpsilonHigh</c>, <c>GenerationBatchSize</c>) are refused by name, so neither
/// a typo nor a field that cannot be set is silently ignored. An option given on the command line wins over the file.
/// </summary>
static class GrpoOptionsBinding
{
    static readonly GrpoOptions Defaults = new();

    /// <summary>How config files and a run's saved settings are read and written.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        Converters = { new JsonStringEnumConverter() },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // Computed properties are not settings: writing them would only invite copying them into a config file.
        IgnoreReadOnlyProperties = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
    };

    /// <summary>One command-line option per field; <c>Apply</c> puts its value, when given, into the options.</summary>
    public static readonly IReadOnlyList<(Option Option, Func<GrpoOptions, ParseResult, GrpoOptions> Apply)> Settings =
    [
        Setting("--steps", "Optimizer steps (MaxSteps); -1 derives them from --epochs and the dataset size.", o => o.MaxSteps, (o, v) => o with { MaxSteps = v }),
        Setting("--epochs", "Passes over the dataset when --steps is -1 (NumTrainEpochs).", o => o.NumTrainEpochs, (o, v) => o with { NumTrainEpochs = v }),
        Setting("--group-size", "Completions sampled per prompt, G (NumGenerations); at least 2.", o => o.NumGenerations, (o, v) => o with { NumGenerations = v }),
        Setting("--prompts-per-step", "Prompts per optimizer step (PromptsPerStep).", o => o.PromptsPerStep, (o, v) => o with { PromptsPerStep = v }),
        Setting("--max-completion-length", "Most tokens generated per completion (MaxCompletionLength).", o => o.MaxCompletionLength, (o, v) => o with { MaxCompletionLength = v }),
        Setting("--temperature", "Sampling temperature (Temperature); above 0.", o => o.Temperature, (o, v) => o with { Temperature = v }),
        Setting("--top-p", "Nucleus sampling mass (TopP), in (0, 1]; 1 is off.", o => o.TopP, (o, v) => o with { TopP = v }),
        Setting("--top-k", "Keep only the k most likely tokens (TopK); 0 is off.", o => o.TopK, (o, v) => o with { TopK = v }),
        Setting("--learning-rate", "Peak AdamW learning rate (LearningRate); LoRA runs often use 1e-5 to 5e-5.", o => o.LearningRate, (o, v) => o with { LearningRate = v }),
        Setting("--lr-schedule", "Learning rate after warmup (LearningRateSchedule): Constant, Linear or Cosine.", o => o.LearningRateSchedule, (o, v) => o with { LearningRateSchedule = v }),
        Setting("--warmup-steps", "Steps of linear warmup (WarmupSteps).", o => o.WarmupSteps, (o, v) => o with { WarmupSteps = v }),
        Setting("--weight-decay", "AdamW weight decay (WeightDecay).", o => o.WeightDecay, (o, v) => o with { WeightDecay = v }),
        Setting("--max-grad-norm", "Clip the gradient norm to this (MaxGradNorm); 0 is off.", o => o.MaxGradNorm, (o, v) => o with { MaxGradNorm = v }),
        Setting("--gradient-accumulation-steps", "Micro-batches per step (GradientAccumulationSteps); must divide prompts-per-step × group-size.", o => o.GradientAccumulationSteps, (o, v) => o with { GradientAccumulationSteps = v }),
        Setting("--beta", "KL penalty weight β (Beta); 0 skips the reference pass.", o => o.Beta, (o, v) => o with { Beta = v }),
        Setting("--epsilon", "Lower clip ε (Epsilon), in (0, 1).", o => o.Epsilon, (o, v) => o with { Epsilon = v }),
        Setting("--epsilon-high", "Upper clip ε_high (EpsilonHigh; DAPO uses 0.28).", o => o.EffectiveEpsilonHigh, (o, v) => o with { EpsilonHigh = v }),
        Setting("--loss-type", "Objective (LossType): Grpo, Bnpo, DrGrpo, Dapo, Cispo, Sapo, Luspo or Vespo.", o => o.LossType, (o, v) => o with { LossType = v }),
        Setting("--entropy-coef", "Weight of the entropy bonus (EntropyCoef); 0 is off.", o => o.EntropyCoef, (o, v) => o with { EntropyCoef = v }),
        Setting("--scale-rewards", "Advantage scaling (ScaleRewards): Group, Batch or None.", o => o.ScaleRewards, (o, v) => o with { ScaleRewards = v }),
        Setting("--importance-sampling", "Policy ratio level (ImportanceSamplingLevel): Token, or Sequence (GSPO).", o => o.ImportanceSamplingLevel, (o, v) => o with { ImportanceSamplingLevel = v }),
        Setting("--num-iterations", "Updates per generation batch, μ (NumIterations).", o => o.NumIterations, (o, v) => o with { NumIterations = v }),
        Setting("--top-entropy-quantile", "Train only on this top fraction of tokens by entropy (TopEntropyQuantile).", o => o.TopEntropyQuantile, (o, v) => o with { TopEntropyQuantile = v }),
        Setting("--mask-truncated-completions", "Leave completions cut off at the length limit out of the loss (MaskTruncatedCompletions).", o => o.MaskTruncatedCompletions, (o, v) => o with { MaskTruncatedCompletions = v }),
        Setting("--drop-zero-std-groups", "Leave groups whose rewards are all equal out of the loss (DropZeroStdGroups).", o => o.DropZeroStdGroups, (o, v) => o with { DropZeroStdGroups = v }),
        Setting("--seed", "Seed for sampling, data order and adapter initialisation (Seed).", o => o.Seed, (o, v) => o with { Seed = v }),
        Setting("--save-steps", "Write a checkpoint every this many steps (SaveSteps); 0 saves only at the end.", o => o.SaveSteps, (o, v) => o with { SaveSteps = v }),
        Setting("--logging-steps", "Print a step line every this many steps, besides the first, the last and evaluated ones (LoggingSteps); metrics.jsonl has every step.", o => o.LoggingSteps, (o, v) => o with { LoggingSteps = v }),
        Setting("--eval-steps", "With --eval-data, evaluate every this many steps and after the last (EvalSteps; unset: --logging-steps).", o => o.EvalSteps ?? o.LoggingSteps, (o, v) => o with { EvalSteps = v }),
        Setting("--num-generations-eval", "With --eval-data, sampled completions per row for eval_reward and eval_pass@k (NumGenerationsEval; unset: --group-size); 0 measures greedy accuracy only.", o => o.NumGenerationsEval ?? o.NumGenerations, (o, v) => o with { NumGenerationsEval = v }),
        Setting("--gradient-checkpointing", "Recompute each decoder layer's activations in the backward pass instead of keeping them (GradientCheckpointing): far less memory per trained token for about a third more policy-pass time.", o => o.GradientCheckpointing, (o, v) => o with { GradientCheckpointing = v }),
        Setting("--max-tokens-per-micro-batch", "Pack the policy pass into micro-batches of at most this many tokens, padding included (MaxTokensPerMicroBatch); 0 uses --gradient-accumulation-steps slices. The loss is the same either way.", o => o.MaxTokensPerMicroBatch, (o, v) => o with { MaxTokensPerMicroBatch = v }),
        Setting("--truncate-prompts-left", "Cut prompts that do not fit the model's context on the left instead of refusing them (TruncatePromptsLeft).", o => o.TruncatePromptsLeft, (o, v) => o with { TruncatePromptsLeft = v }),
        RewardWeights(),
    ];

    static (Option, Func<GrpoOptions, ParseResult, GrpoOptions>) Setting<T>(
        string name, string description, Func<GrpoOptions, T> get, Func<GrpoOptions, T, GrpoOptions> set) where T : struct
    {
        // Nullable, with no default of its own: "not given" must leave the config file's value in place.
        var option = new Option<T?>(name) { Description = $"{description} [default: {Show(get(Defaults))}, or the --config file's]" };
        return (option, (options, parse) => parse.GetValue(option) is T value ? set(options, value) : options);
    }

    static (Option, Func<GrpoOptions, ParseResult, GrpoOptions>) RewardWeights()
    {
        var option = new Option<double[]>("--reward-weights")
        {
            Description = "One weight per --reward, in the same order (RewardWeights). [default: all 1]",
            AllowMultipleArgumentsPerToken = true,
        };
        return (option, (options, parse) => parse.GetValue(option) is { Length: > 0 } weights ? options with { RewardWeights = weights } : options);
    }

    static string Show<T>(T value) => value is bool b ? (b ? "on" : "off") : value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : value!.ToString()!;

    /// <summary>GrpoOptions' computed properties: readable, so System.Text.Json maps them, but without a setter, so it would skip them silently.</summary>
    static readonly IReadOnlyList<string> ComputedProperties =
        [.. typeof(GrpoOptions).GetProperties().Where(p => p.GetMethod is { IsPublic: true, IsStatic: false } && p.SetMethod is not { IsPublic: true }).Select(p => p.Name)];

    /// <summary>Reads a JSON config file into GrpoOptions, or throws naming the file and the fault.</summary>
    public static GrpoOptions Load(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Config file '{Path.GetFullPath(path)}' does not exist. Pass --config a JSON object of GrpoOptions fields, e.g. {{\"MaxSteps\": 200}}.");
        try
        {
            var json = File.ReadAllText(path);
            RefuseComputedFields(json, path);
            return JsonSerializer.Deserialize<GrpoOptions>(json, Json)
                ?? throw new InvalidDataException($"Config file '{path}' is null; give a JSON object of GrpoOptions fields.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Config file '{path}': {e.Message.Split('\n')[0]} Use GrpoOptions' property names (case-insensitive), e.g. {{\"MaxSteps\": 200, \"LearningRate\": 1e-5}}.", e);
        }
    }

    static void RefuseComputedFields(string json, string path)
    {
        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        if (document.RootElement.ValueKind != JsonValueKind.Object) return;   // the deserializer names that fault
        foreach (var field in document.RootElement.EnumerateObject())
            if (ComputedProperties.FirstOrDefault(name => string.Equals(name, field.Name, StringComparison.OrdinalIgnoreCase)) is { } computed)
                throw new InvalidDataException(
                    $"Config file '{path}': \"{field.Name}\" cannot be set; GrpoOptions computes {computed} from other fields. Leave it out and set the fields it derives from.");
    }
}
