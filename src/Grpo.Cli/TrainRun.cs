using System.Text.Json;
using Grpo.Lora;
using Grpo.Training;

namespace Grpo.Cli;

/// <summary>
/// What <c>grpo train</c> records in its output folder (<c>grpo_run.json</c>) when a run starts: the options,
/// rewards, adapter shape, device and dtype, so that <c>--resume</c> continues with the run's own settings without the user
/// repeating them, and so that a folder holding a run is recognised and not overwritten.
/// </summary>
/// <param name="Options">The run's GrpoOptions.</param>
/// <param name="Rewards">The reward names, in order.</param>
/// <param name="Lora">The adapter's settings; null for full fine-tuning.</param>
/// <param name="Model">The base model folder.</param>
/// <param name="Data">The training JSONL file.</param>
/// <param name="EvalData">The held-out JSONL file measured during training, or null for none.</param>
/// <param name="Device">The device the run trained on (cpu, cuda:N); null in runs recorded before it was kept.</param>
/// <param name="Dtype">The dtype the weights were loaded in (<c>auto</c> resolved: bfloat16, float32, float16), so a
/// resumed run computes as the run did even where auto would now choose otherwise; null in runs recorded before it was kept.</param>
sealed record TrainRun(GrpoOptions Options, IReadOnlyList<string> Rewards, LoraOptions? Lora, string Model, string Data, string? EvalData = null,
    string? Device = null, string? Dtype = null)
{
    public const string FileName = "grpo_run.json";

    /// <summary>The things that mark a folder as holding a run; the first one found, or null for a folder free to use.</summary>
    public static string? RunMarker(string outputDir)
    {
        if (!Directory.Exists(outputDir)) return null;
        foreach (var file in new[] { FileName, "metrics.jsonl", PeftAdapterConfig.FileName })
            if (File.Exists(Path.Combine(outputDir, file))) return file;
        return Directory.EnumerateDirectories(outputDir, "checkpoint-*").Select(Path.GetFileName).FirstOrDefault();
    }

    public void Save(string outputDir) =>
        File.WriteAllText(Path.Combine(outputDir, FileName), JsonSerializer.Serialize(this, GrpoOptionsBinding.Json));

    /// <summary>The run recorded in <paramref name="outputDir"/>; throws saying so when there is none to resume.</summary>
    public static TrainRun Load(string outputDir)
    {
        var path = Path.Combine(outputDir, FileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"--resume: '{Path.GetFullPath(outputDir)}' holds no run ({FileName} is missing). Leave out --resume to start a new run there.");
        try
        {
            return JsonSerializer.Deserialize<TrainRun>(File.ReadAllText(path), GrpoOptionsBinding.Json)
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is damaged ({e.Message.Split('\n')[0]}); start a new run in another --output folder.", e);
        }
    }
}
