using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// One GRPO micro-batch with no padding: every row is a prompt of <see cref="PromptLength"/> tokens followed by a
/// completion of <see cref="CompletionLength"/> tokens (EOS off makes sampled completions that long). The trainer's
/// own batch type pads ragged rows; the checks need none, so this stays minimal.
/// </summary>
internal sealed class GrpoBatch : IDisposable
{
    /// <summary>[B, P + C] prompt then completion ids.</summary>
    public required Tensor InputIds { get; init; }
    /// <summary>[B, C] the completion ids whose log-probs the loss needs.</summary>
    public required Tensor Targets { get; init; }
    /// <summary>[B, C] all ones: every completion token counts.</summary>
    public required Tensor CompletionMask { get; init; }
    /// <summary>[B] one advantage per completion.</summary>
    public required Tensor Advantages { get; init; }
    /// <summary>P.</summary>
    public required int PromptLength { get; init; }
    /// <summary>C.</summary>
    public required int CompletionLength { get; init; }

    /// <summary>Rows × (P + C): the tokens a training pass runs through.</summary>
    public long Tokens => InputIds.shape[0] * InputIds.shape[1];

    /// <summary>The batch of <paramref name="prompts"/>[row] + <paramref name="completions"/>[row] on <paramref name="device"/>.</summary>
    public static GrpoBatch Build(IReadOnlyList<int[]> prompts, IReadOnlyList<int[]> completions, IReadOnlyList<double> advantages, Device device)
    {
        int rows = completions.Count, p = prompts[0].Length, c = completions[0].Length;
        if (prompts.Count != rows || advantages.Count != rows)
            throw new ArgumentException($"{rows} completions need {rows} prompts and advantages, got {prompts.Count} and {advantages.Count}.");
        if (prompts.Any(x => x.Length != p) || completions.Any(x => x.Length != c))
            throw new ArgumentException(
                "Every prompt and every completion must have the same length (no padding here); sample with EOS off so all completions reach the maximum length.");
        var ids = new long[rows * (p + c)];
        var targets = new long[rows * c];
        for (int r = 0; r < rows; r++)
        {
            for (int t = 0; t < p; t++) ids[r * (p + c) + t] = prompts[r][t];
            for (int t = 0; t < c; t++) ids[r * (p + c) + p + t] = targets[r * c + t] = completions[r][t];
        }
        return new GrpoBatch
        {
            InputIds = tensor(ids, [rows, p + c], device: device),
            Targets = tensor(targets, [rows, c], device: device),
            CompletionMask = ones(rows, c, device: device),
            Advantages = tensor(advantages.Select(a => (float)a).ToArray(), device: device),
            PromptLength = p,
            CompletionLength = c,
        };
    }

    public void Dispose()
    {
        InputIds.Dispose();
        Targets.Dispose();
        CompletionMask.Dispose();
        Advantages.Dispose();
    }
}
