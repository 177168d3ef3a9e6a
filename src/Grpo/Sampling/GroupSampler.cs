using Grpo.Modeling;
using Grpo.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Sampling;

/// <summary>
/// Samples G completions for each prompt, the rollout step of GRPO, on a <see cref="DecodeEngine"/>. Prompts are
/// taken in batches; each prompt of a batch is prefilled once (all in one pass, no padding stored) and its cache
/// slot forked for its G samples, and all sequences decode together one token per step, each at its own position.
/// A sequence that ends (EOS, stop string or token limit) leaves the batch, so it costs nothing afterwards. One
/// small device-to-host copy per step (the sampled ids and log-probs) is the only synchronisation. Not thread-safe;
/// owns its random generator.
/// </summary>
public sealed class GroupSampler : IDisposable
{
    private readonly CausalLM _model;
    private readonly ITokenizer _tokenizer;
    private readonly SamplingOptions _options;
    private readonly HashSet<int> _eos;
    private readonly int _stopTailTokens;
    private readonly Generator _generator;

    /// <summary>A sampler for <paramref name="model"/>; throws when the tokenizer does not fit the model or an option is out of range.</summary>
    public GroupSampler(CausalLM model, ITokenizer tokenizer, SamplingOptions? options = null)
    {
        _options = options ?? new SamplingOptions();
        _options.Validate();
        model.EnsureFits(tokenizer);
        _model = model;
        _tokenizer = tokenizer;
        _eos = [.. _options.EosTokenIds ?? model.EosTokenIds];
        // A stop string of n characters spans at most 4n byte-level tokens, plus one cut mid-character.
        _stopTailTokens = _options.StopStrings.Count == 0 ? 0 : 4 * _options.StopStrings.Max(s => s.Length) + 1;
        _generator = new Generator((ulong)_options.Seed, model.Device);
    }

    /// <summary>Encodes each prompt with the tokenizer (it should already be chat-formatted) and samples <paramref name="groupSize"/> completions of each.</summary>
    public IReadOnlyList<Completion> Sample(IReadOnlyList<string> prompts, int groupSize, CancellationToken cancellationToken = default) =>
        Sample(prompts.Select(_tokenizer.Encode).ToList(), groupSize, cancellationToken);

    /// <summary>
    /// Samples <paramref name="groupSize"/> completions of each prompt (token ids). Returns them prompt by prompt,
    /// G consecutive completions per prompt, in the order of <paramref name="prompts"/>.
    /// </summary>
    public IReadOnlyList<Completion> Sample(IReadOnlyList<int[]> prompts, int groupSize, CancellationToken cancellationToken = default)
    {
        if (groupSize <= 0) throw new ArgumentOutOfRangeException(nameof(groupSize), groupSize, "The group size must be positive.");
        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i].Length == 0) throw new ArgumentException($"Prompt {i} is empty; a prompt needs at least one token.", nameof(prompts));
            if (prompts[i].Any(id => id < 0 || id >= _model.Config.VocabSize))
                throw new ArgumentException($"Prompt {i} has a token id outside the model's vocabulary (vocab_size {_model.Config.VocabSize}).", nameof(prompts));
        }

        var completions = new List<Completion>(prompts.Count * groupSize);
        using var inference = inference_mode();
        for (int start = 0; start < prompts.Count; start += _options.PromptsPerBatch)
        {
            int count = Math.Min(_options.PromptsPerBatch, prompts.Count - start);
            completions.AddRange(SampleBatch(prompts.Skip(start).Take(count).ToList(), start, groupSize, cancellationToken));
        }
        return completions;
    }

    private Completion[] SampleBatch(List<int[]> prompts, int firstPromptIndex, int groupSize, CancellationToken cancellationToken)
    {
        using var batchScope = NewDisposeScope();
        int promptCount = prompts.Count, maxNew = _options.MaxNewTokens;
        int total = promptCount * groupSize;
        using var engine = new DecodeEngine(_model, total, prompts.Max(p => p.Length) + maxNew);
        // Each prompt is prefilled once in its own slot and forked into G - 1 more: the group shares the prefill.
        var heads = engine.Acquire(promptCount);
        var logits = engine.Append(heads, prompts);                       // [P, V]
        var completionOf = new int[total];                                // slot -> completion (prompt * G + sample)
        for (int p = 0; p < promptCount; p++)
        {
            completionOf[heads[p]] = p * groupSize;
            var forks = engine.Fork(heads[p], groupSize - 1);
            for (int k = 0; k < forks.Length; k++) completionOf[forks[k]] = p * groupSize + k + 1;
        }
        // Rows in slot order, so a full batch reads the cache as one contiguous block.
        var active = Enumerable.Range(0, total).ToList();                  // row -> slot
        logits = logits.index_select(0, tensor(active.Select(s => (long)(completionOf[s] / groupSize)).ToArray(), device: _model.Device));

        var tokens = Enumerable.Range(0, total).Select(_ => new List<int>()).ToArray();
        var logProbs = Enumerable.Range(0, total).Select(_ => new List<float>()).ToArray();
        var reasons = new FinishReason[total];

        for (int step = 0; step < maxNew; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            var (next, nextLogProbs) = TokenSampler.Sample(logits, _options, _generator);
            // The step's one host synchronisation: the drawn ids and their log-probs, in one copy.
            var host = cat([next.to(ScalarType.Float64), nextLogProbs.to(ScalarType.Float64)]).cpu().data<double>().ToArray();

            var keep = new List<long>(active.Count);
            for (int row = 0; row < active.Count; row++)
            {
                int c = completionOf[active[row]];
                int token = (int)host[row];
                tokens[c].Add(token);
                logProbs[c].Add((float)host[active.Count + row]);
                if (_eos.Contains(token)) reasons[c] = FinishReason.Eos;
                else if (HitsStopString(tokens[c])) reasons[c] = FinishReason.StopString;
                else if (tokens[c].Count == maxNew) reasons[c] = FinishReason.Length;
                else keep.Add(row);
            }
            if (keep.Count == 0) break;

            if (keep.Count < active.Count)
            {
                foreach (var row in Enumerable.Range(0, active.Count).Except(keep.Select(r => (int)r))) engine.Release(active[row]);
                next = next.index_select(0, tensor(keep.ToArray(), device: _model.Device));
                active = keep.Select(r => active[(int)r]).ToList();
            }
            Swap(ref logits, engine.Decode(active, next));
        }

        return Enumerable.Range(0, total).Select(c => new Completion(
            firstPromptIndex + c / groupSize, c % groupSize, tokens[c].ToArray(),
            _tokenizer.Decode(tokens[c], skipSpecialTokens: true), logProbs[c].ToArray(), reasons[c])).ToArray();
    }

    /// <summary>Does the tail of the completion's text contain a stop string? Only the newest tokens can complete one.</summary>
    private bool HitsStopString(List<int> completion)
    {
        if (_stopTailTokens == 0) return false;
        int take = Math.Min(_stopTailTokens, completion.Count);
        var tail = _tokenizer.Decode(completion.Skip(completion.Count - take), skipSpecialTokens: false);
        return _options.StopStrings.Any(s => tail.Contains(s, StringComparison.Ordinal));
    }

    /// <summary>Replaces a tensor carried across decoding steps: the new one outlives the step's scope, the old one is freed now.</summary>
    private static void Swap(ref Tensor carried, Tensor next)
    {
        next.MoveToOuterDisposeScope();
        carried.Dispose();
        carried = next;
    }

    /// <summary>Restarts the random generator from <paramref name="seed"/>, as if the sampler had been built with it.</summary>
    public void Reseed(long seed) => _generator.manual_seed(seed);

    /// <inheritdoc/>
    public void Dispose() => _generator.Dispose();
}
