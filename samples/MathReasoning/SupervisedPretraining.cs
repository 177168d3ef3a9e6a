using System.Diagnostics;
using Grpo.Modeling;
using Grpo.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Samples.MathReasoning;

/// <summary>
/// Supervised pre-training of the built-in model: next-token cross-entropy on (prompt → answer) pairs from the
/// problem generator, a <see cref="PretrainOptions.WorkedShare"/> of the answers worked and the rest bare, the loss taken on the answer tokens only (and the end-of-turn token, so the model learns to
/// stop). AdamW with warmup and cosine decay; deterministic for a seed on one machine.
/// </summary>
public static class SupervisedPretraining
{
    /// <summary>Token id that cross-entropy skips (PyTorch's default ignore_index).</summary>
    const long Ignore = -100;

    /// <summary>Trains <paramref name="model"/> in place, writing the mean loss every <see cref="PretrainOptions.LogEvery"/> steps to <paramref name="log"/>.</summary>
    public static void Run(CausalLM model, HfTokenizer tokenizer, PretrainOptions options, TextWriter log, CancellationToken cancellationToken = default)
    {
        options.Validate();
        int endOfTurn = tokenizer.TokenToId(BuiltInModel.EndOfTurn)!.Value, pad = tokenizer.TokenToId(BuiltInModel.EndOfText)!.Value;
        using var problems = ArithmeticWordProblems.Stream(options.Seed, ProblemSplit.Train)
            .Select((problem, i) => (Question: problem.Question, Answer: ShowsWork(options, i) ? problem.Answer : problem.BareAnswer))
            .GetEnumerator();
        using var optimizer = optim.AdamW(model.parameters(), options.LearningRate, weight_decay: options.WeightDecay);
        model.train();

        var clock = Stopwatch.StartNew();
        double lossSum = 0;
        for (int step = 0; step < options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            foreach (var group in optimizer.ParamGroups) group.LearningRate = LearningRateAt(options, step);

            var (inputs, targets) = Batch(problems, options.BatchSize, tokenizer, endOfTurn, pad);   // [B, T], [B, T]
            var logits = model.forward(inputs);                                                      // [B, T, V]
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
    internal static bool ShowsWork(PretrainOptions options, int index) =>
        Math.Floor((index + 1) * options.WorkedShare) > Math.Floor(index * options.WorkedShare);

    /// <summary>Linear warmup to the peak, then half a cosine down to a tenth of it.</summary>
    static double LearningRateAt(PretrainOptions options, int step)
    {
        if (step < options.WarmupSteps) return options.LearningRate * (step + 1) / options.WarmupSteps;
        var progress = (double)(step - options.WarmupSteps) / Math.Max(1, options.Steps - options.WarmupSteps);
        return options.LearningRate * (0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }

    /// <summary>
    /// The next <paramref name="size"/> problems as right-padded sequences: inputs [B, T] are prompt + answer + end of
    /// turn without the last token; targets [B, T] are the same shifted by one, with prompt and padding positions set
    /// to <see cref="Ignore"/>. Right padding needs no attention mask: causal attention never looks ahead to it.
    /// </summary>
    static (Tensor Inputs, Tensor Targets) Batch(IEnumerator<(string Question, string Answer)> problems, int size, HfTokenizer tokenizer, int endOfTurn, int pad)
    {
        var rows = new List<(int[] Tokens, int PromptLength)>(size);
        for (int i = 0; i < size && problems.MoveNext(); i++)
        {
            var prompt = tokenizer.Encode(PromptFormat.BuiltIn.Format(problems.Current.Question));
            rows.Add(([.. prompt, .. tokenizer.Encode(problems.Current.Answer), endOfTurn], prompt.Length));
        }
        int length = rows.Max(r => r.Tokens.Length) - 1;
        var inputs = new long[rows.Count * length];
        var targets = new long[rows.Count * length];
        Array.Fill(inputs, pad);
        Array.Fill(targets, Ignore);
        for (int b = 0; b < rows.Count; b++)
        {
            var (tokens, promptLength) = rows[b];
            for (int t = 0; t < tokens.Length - 1; t++)
            {
                inputs[b * length + t] = tokens[t];
                if (t + 1 >= promptLength) targets[b * length + t] = tokens[t + 1];
            }
        }
        return (tensor(inputs, [rows.Count, length]), tensor(targets, [rows.Count, length]));
    }
}
