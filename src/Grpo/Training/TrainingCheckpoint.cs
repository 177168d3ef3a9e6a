using System.Text.Json;
using System.Text.Json.Serialization;

namespace Grpo.Training;

/// <summary>The run's own state in a checkpoint (<c>trainer_state.json</c>): enough to continue the run exactly.</summary>
/// <param name="Step">Steps finished.</param>
/// <param name="TotalSteps">The run's length in steps.</param>
/// <param name="DataPosition">Problems handed out so far (the data order is a function of it and the seed).</param>
/// <param name="NumTokens">Tokens processed so far (<c>num_tokens</c>).</param>
/// <param name="Seed">The run's seed; with the step it also fixes every step's random draws, so no generator state is saved.</param>
/// <param name="RewardNames">The reward functions the run was trained with, in order.</param>
/// <param name="EntropyCoefficient">The entropy bonus's coefficient (<see cref="EntropyController.Coefficient"/>).</param>
/// <param name="LastEntropy">The entropy the adaptive controller last measured (<see cref="EntropyController.LastEntropy"/>; infinite before the first).</param>
public sealed record TrainerState(int Step, int TotalSteps, long DataPosition, long NumTokens, int Seed, IReadOnlyList<string> RewardNames,
    double EntropyCoefficient, double LastEntropy);

/// <summary>
/// Checkpoints of a run: folders <c>checkpoint-N</c> in the output folder, each with the trained weights (the adapter in
/// PEFT layout under <c>adapter/</c>, or the whole model under <c>model/</c> when fine-tuning fully), the optimizer
/// state and <see cref="TrainerState"/>. A checkpoint is written into a hidden temporary folder and renamed into
/// place, so a folder named <c>checkpoint-N</c> is always complete, whenever the process dies.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>File of <see cref="TrainerState"/> in a checkpoint.</summary>
    public const string StateFileName = "trainer_state.json";
    /// <summary>File of the optimizer state (TorchSharp's format) in a checkpoint.</summary>
    public const string OptimizerFileName = "optimizer.bin";
    /// <summary>Folder of the LoRA adapter (PEFT layout) in a checkpoint.</summary>
    public const string AdapterFolderName = "adapter";
    /// <summary>Folder of the full model (Hugging Face layout) in a checkpoint, when training without an adapter.</summary>
    public const string ModelFolderName = "model";

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,   // LastEntropy starts infinite
    };

    /// <summary>The folder of step <paramref name="step"/>'s checkpoint.</summary>
    public static string PathFor(string outputDir, int step) => Path.Combine(outputDir, $"checkpoint-{step}");

    /// <summary>Writes a checkpoint atomically: <paramref name="writeContents"/> fills a temporary folder, which then becomes <c>checkpoint-N</c>.</summary>
    public static string Save(string outputDir, TrainerState state, Action<string> writeContents)
    {
        var final = PathFor(outputDir, state.Step);
        var temp = Path.Combine(outputDir, $".checkpoint-{state.Step}.tmp");
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        writeContents(temp);
        File.WriteAllText(Path.Combine(temp, StateFileName), JsonSerializer.Serialize(state, Json));
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        return final;
    }

    /// <summary>The state of the checkpoint in <paramref name="checkpointDir"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="InvalidDataException">Not a complete checkpoint.</exception>
    public static TrainerState LoadState(string checkpointDir)
    {
        if (!Directory.Exists(checkpointDir))
            throw new DirectoryNotFoundException($"Checkpoint folder '{checkpointDir}' does not exist. Give a checkpoint-N folder of a run's output folder.");
        var path = Path.Combine(checkpointDir, StateFileName);
        if (!File.Exists(path))
            throw new InvalidDataException($"'{checkpointDir}' is not a checkpoint: it has no {StateFileName}. Give a checkpoint-N folder of a run's output folder.");
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"{path} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a valid trainer state ({e.Message}).", e);
        }
    }

    /// <summary>Deletes the temporary folders of checkpoint writes that never finished (the process died mid-write).</summary>
    public static void RemoveUnfinished(string outputDir)
    {
        if (!Directory.Exists(outputDir)) return;
        foreach (var temp in Directory.EnumerateDirectories(outputDir, ".checkpoint-*.tmp"))
            Directory.Delete(temp, recursive: true);
    }

    /// <summary>Deletes all but the <paramref name="count"/> newest complete checkpoints (<c>save_total_limit</c>).</summary>
    public static void KeepNewest(string outputDir, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        foreach (var old in Complete(outputDir).Skip(count))
            Directory.Delete(old, recursive: true);
    }

    /// <summary>The newest complete checkpoint of a run's output folder, or null when it has none.</summary>
    public static string? Latest(string outputDir) => Complete(outputDir).FirstOrDefault();

    // Complete checkpoint folders, newest first.
    private static IEnumerable<string> Complete(string outputDir) =>
        !Directory.Exists(outputDir) ? [] : Directory.EnumerateDirectories(outputDir, "checkpoint-*")
            .Select(dir => (dir, ok: int.TryParse(Path.GetFileName(dir)["checkpoint-".Length..], out var step), step))
            .Where(c => c.ok && File.Exists(Path.Combine(c.dir, StateFileName)))
            .OrderByDescending(c => c.step)
            .Select(c => c.dir)
            .ToList();
}
