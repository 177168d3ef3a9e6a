using System.Diagnostics;
using Grpo.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// Supervised pre-training of a built-in model: next-token cross-entropy on conversations (<see cref="TokenRow"/>),
/// the loss taken on the assistant's tokens only (its answers and the end-of-turn token, so the model learns to
/// stop). AdamW with warmup and cosine decay; deterministic for a seed on one machine.
/// </summary>
public static class SupervisedPretraining
{
    /// <summary>Token id that cross-entropy skips (PyTorch's default ignore_index).</summary>
    const long Ignore = -100;

    /// <summary>
    /// Trains <paramref name="model"/> in place on <see cref="PretrainOptions.BatchSize"/> rows of
    /// <paramref name="rows"/> per step, writing the mean loss every <see cref="PretrainOptions.LogEvery"/> steps to
    /// <paramref name="log"/>.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="rows">The training sequences, at least <see cref="PretrainOptions.Steps"/> × <see cref="PretrainOptions.BatchSize"/> of them (an endless stream will do).</param>
    /// <param name="pad">The token id that pads rows to one length (never trained on).</param>
    /// <param name="options">Steps, batch size and optimizer settings.</param>
    /// <param name="log">Where progress goes.</param>
    /// <param name="cancellationToken">Stops between steps.</param>
    public static void Run(CausalLM model, IEnumerable<TokenRow> rows, int pad, PretrainOptions options, TextWriter log, CancellationToken cancellationToken = default)
    {
        options.Validate();
        using var stream = rows.GetEnumerator();
        using var optimizer = optim.AdamW(model.parameters(), options.LearningRate, weight_decay: options.WeightDecay);
        model.train();

        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        for (int step = 0; step < options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            foreach (var group in optimizer.ParamGroups) group.LearningRate = LearningRateAt(options, step);

            var (inputs, targets) = Batch(stream, options.BatchSize, pad);                  // [B, T], [B, T]
            var logits = model.forward(inputs);                                             // [B, T, V]
            var loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index: Ignore);
            optimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), options.MaxGradNorm);
            optimizer.step();

            lossSum += loss.item<float>();
            if ((step + 1) % options.LogEvery == 0)
            {
                log.WriteLine($"step {step + 1,5}/{options.Steps}  loss {lossSum / options.LogEvery:F4}  lr {LearningRateAt(options, step):E2}  {clock.Elapsed:mm\\:ss}");
                lossSum = 0;
            }
        }
        model.eval();
    }

    /// <summary>
    /// Whether the <paramref name="index"/>-th problem is shown with its working: exactly <see cref="PretrainOptions.WorkedShare"/>
    /// of every run of problems, spread evenly, so the share holds in every batch and no random draw is involved.
    /// </summary>
    public static bool ShowsWork(PretrainOptions options, int index) => Spread(options.WorkedShare, index);

    /// <summary>Whether the <paramref name="index"/>-th problem is answered by calling the tool: <see cref="PretrainOptions.ToolShare"/> of every run, spread evenly.</summary>
    public static bool CallsTool(PretrainOptions options, int index) => Spread(options.ToolShare, index);

    /// <summary>True for exactly <paramref name="share"/> of every run of consecutive indices.</summary>
    static bool Spread(double share, int index) => Math.Floor((index + 1) * share) > Math.Floor(index * share);

    /// <summary>Linear warmup to the peak, then half a cosine down to a tenth of it.</summary>
    static double LearningRateAt(PretrainOptions options, int step)
    {
        if (step < options.WarmupSteps) return options.LearningRate * (step + 1) / options.WarmupSteps;
        var progress = (double)(step - options.WarmupSteps) / Math.Max(1, options.Steps - options.WarmupSteps);
        return options.LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>
    /// The next <paramref name="size"/> rows as right-padded sequences: inputs [B, T] are each row without its last
    /// token; targets [B, T] are the same shifted by one, with untrained and padding positions set to
    /// <see cref="Ignore"/>. Right padding needs no attention mask: causal attention never looks ahead to it.
    /// </summary>
    static (Tensor Inputs, Tensor Targets) Batch(IEnumerator<TokenRow> stream, int size, int pad)
    {
        var rows = new List<TokenRow>(size);
        for (int i = 0; i < size && stream.MoveNext(); i++) rows.Add(stream.Current);
        if (rows.Count == 0) throw new InvalidOperationException("The pre-training rows ran out; give at least Steps x BatchSize of them.");
        int length = rows.Max(r => r.Tokens.Length) - 1;
        var inputs = new long[rows.Count * length];
        var targets = new long[rows.Count * length];
        Array.Fill(inputs, pad);
        Array.Fill(targets, Ignore);
        for (int b = 0; b < rows.Count; b++)
        {
            var (tokens, trained) = rows[b];
            for (int t = 0; t < tokens.Length - 1; t++)
            {
                inputs[b * length + t] = tokens[t];
                if (trained[t + 1]) targets[b * length + t] = tokens[t + 1];
            }
        }
        return (tensor(inputs, [rows.Count, length]), tensor(targets, [rows.Count, length]));
    }
}
