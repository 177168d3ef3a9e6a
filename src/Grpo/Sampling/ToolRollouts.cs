using Grpo.Data;
using Grpo.Modeling;
using Grpo.Tokenization;
using Grpo.Tools;
using Microsoft.Extensions.AI;
using TorchSharp;
using static TorchSharp.torch;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Grpo.Sampling;

/// <summary>
/// Multi-turn rollouts with tools, in this process, on the <see cref="DecodeEngine"/>: TRL v1.9's GRPOTrainer tool
/// loop (<c>_tool_call_loop</c>), run per row instead of per round. A row whose turn ends with its end-of-sequence
/// token after complete tool calls leaves the decoding set; its calls run on the thread pool
/// (<see cref="ToolInvoker"/>: timeout, cancellation, errors become <c>{"error": ...}</c> replies); when they answer,
/// the replies, rendered as the chat template renders tool turns (<see cref="ToolTurnEncoder"/>), are appended to its
/// slot after its last sampled token and it decodes on. Other rows keep decoding meanwhile: a row waiting for a tool
/// never blocks the batch; the loop only waits when every unfinished row is waiting.
/// <para>
/// As in TRL: tool tokens count toward <see cref="SamplingOptions.MaxNewTokens"/> (TRL's
/// <c>max_completion_length</c>); they are marked in <see cref="Completion.PolicyTokenMask"/> (TRL's
/// <c>tool_mask</c>) with log-prob 0; a row stops calling after <c>maxToolCallingIterations</c> rounds; with an
/// environment factory, each rollout gets its own environment, reset with its dataset row, whose tool methods join
/// the standalone tools. Where this departs from TRL: a call the parser could not read (malformed JSON, no name) is
/// answered with its error and counted as a failure (TRL's parser drops it and the turn simply ends); a reply that
/// would leave no room for one more policy token ends the row with <see cref="FinishReason.Length"/> (TRL drops the
/// reply and leaves the row ending in its call, untruncated); a row still calling after the last round ends with
/// <see cref="FinishReason.ToolCallLimit"/>; an environment's <c>Reset</c> does not add to the prompt.
/// </para>
/// Stop strings are not supported: a turn ends at end-of-sequence, where tool calls are read. Not thread-safe.
/// </summary>
public sealed class ToolRollouts : IRolloutSource, IDisposable
{
    private readonly Func<int, int, ISlotDecoder> _newDecoder;
    private readonly Action _eval;
    private readonly ITokenizer _tokenizer;
    private readonly ToolCallParser _parser;
    private readonly ToolTurnEncoder _turns;
    private readonly SamplingOptions _sampling;
    private readonly SamplingOptions _greedy;
    private readonly HashSet<int> _eos;
    private readonly IReadOnlyList<AIFunction> _tools;
    private readonly Func<ToolEnvironment>? _environmentFactory;
    private readonly int _maxRounds;
    private readonly TimeSpan _toolTimeout;
    private readonly Generator _generator;

    /// <summary>
    /// Rollouts of <paramref name="model"/> (adapter included) that may call <paramref name="tools"/> and, with
    /// <paramref name="environmentFactory"/>, the tool methods of one fresh environment per rollout.
    /// </summary>
    /// <param name="model">The policy.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="format">The chat format the prompts were written in: it renders tool turns and reads calls.</param>
    /// <param name="sampling">Sampling settings; greedy requests use the same token limit and end ids.</param>
    /// <param name="tools">Standalone tools (TRL's <c>tools</c>).</param>
    /// <param name="maxToolCallingIterations">Most rounds of tool calls per completion; null for no limit (TRL's default).</param>
    /// <param name="toolTimeout">Longest one call may take before its reply is a timeout error.</param>
    /// <param name="environmentFactory">Makes one environment per rollout (TRL's <c>environment_factory</c>); null for none.</param>
    public ToolRollouts(CausalLM model, ITokenizer tokenizer, IToolChatFormatter format, SamplingOptions sampling,
        IReadOnlyList<AIFunction> tools, int? maxToolCallingIterations, TimeSpan toolTimeout, Func<ToolEnvironment>? environmentFactory = null)
        : this(tokenizer, format, sampling, tools, maxToolCallingIterations, toolTimeout, environmentFactory,
              (slots, capacity) => new DecodeEngine(model, slots, capacity), model.Device, model.EosTokenIds, () => model.eval())
    {
        model.EnsureFits(tokenizer);
    }

    /// <summary>The same over any slot decoder: a scripted model in tests.</summary>
    internal ToolRollouts(ITokenizer tokenizer, IToolChatFormatter format, SamplingOptions sampling, IReadOnlyList<AIFunction> tools,
        int? maxToolCallingIterations, TimeSpan toolTimeout, Func<ToolEnvironment>? environmentFactory,
        Func<int, int, ISlotDecoder> newDecoder, Device device, IReadOnlyList<int> modelEosTokenIds, Action eval)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentNullException.ThrowIfNull(tools);
        sampling.Validate();
        if (sampling.StopStrings.Count > 0)
            throw new ArgumentException("Tool rollouts end a turn at end-of-sequence, where tool calls are read; remove the stop strings.", nameof(sampling));
        if (maxToolCallingIterations < 0)
            throw new ArgumentOutOfRangeException(nameof(maxToolCallingIterations), maxToolCallingIterations, "Use null for no limit, 0 to run no tools, or a positive number of rounds.");
        if (toolTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(toolTimeout), toolTimeout, "Give tools a positive time such as 30 seconds.");
        if (tools.Count == 0 && environmentFactory is null)
            throw new ArgumentException("Tool rollouts need tools or an environment factory; without either, use InProcessRollouts.", nameof(tools));
        (_tokenizer, _sampling, _tools, _environmentFactory, _toolTimeout, _newDecoder, _eval) =
            (tokenizer, sampling, tools, environmentFactory, toolTimeout, newDecoder, eval);
        _greedy = sampling with { TopK = 1, TopP = 1, MinP = 0, Temperature = 1 };
        _maxRounds = maxToolCallingIterations ?? int.MaxValue;
        _eos = [.. sampling.EosTokenIds ?? modelEosTokenIds];
        _parser = format.ToolCallParser;
        _turns = new ToolTurnEncoder(format, tokenizer, _eos);
        _generator = new Generator((ulong)sampling.Seed, device);
    }

    /// <inheritdoc/>
    public bool LogProbsMatchTrainer => true;

    /// <inheritdoc/>
    /// <remarks>Decodes on the calling thread (the model is not thread-safe); tools run on the thread pool.</remarks>
    public Task<IReadOnlyList<Completion>> GenerateAsync(RolloutRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.GroupSize <= 0) throw new ArgumentOutOfRangeException(nameof(request), request.GroupSize, "The group size must be positive.");
        if (_environmentFactory is not null && (request.Problems is null || request.Problems.Count != request.Prompts.Count))
            throw new ArgumentException("An environment is reset with each rollout's dataset row; give the request its Problems, one per prompt.", nameof(request));
        var options = request.Greedy ? _greedy : _sampling;
        _eval();   // rollouts never drop out: they are the policy as it is
        _generator.manual_seed(request.Seed);
        var completions = new List<Completion>(request.Prompts.Count * request.GroupSize);
        using var inference = inference_mode();
        for (int start = 0; start < request.Prompts.Count; start += options.PromptsPerBatch)
        {
            int count = Math.Min(options.PromptsPerBatch, request.Prompts.Count - start);
            completions.AddRange(SampleBatch(request, start, count, options, cancellationToken));
        }
        return Task.FromResult<IReadOnlyList<Completion>>(completions);
    }

    /// <summary>One rollout's state while it is sampled.</summary>
    private sealed class Row(IReadOnlyDictionary<string, AIFunction> tools, ToolEnvironment? environment)
    {
        public readonly List<int> Tokens = [];
        public readonly List<float> LogProbs = [];
        public readonly List<bool> Policy = [];
        public readonly List<AIChatMessage> Messages = [];
        public int TurnStart, Calls, Failures, Rounds;
        public FinishReason Reason;
        public IReadOnlyDictionary<string, AIFunction> Tools => tools;
        public ToolEnvironment? Environment => environment;
    }

    private Completion[] SampleBatch(RolloutRequest request, int first, int promptCount, SamplingOptions options, CancellationToken cancellationToken)
    {
        using var batchScope = NewDisposeScope();
        int g = request.GroupSize, total = promptCount * g, maxNew = options.MaxNewTokens;
        var prompts = request.Prompts.Skip(first).Take(promptCount).ToList();
        // The engine first: it refuses a batch too large for memory before any row's state is made.
        using var decoder = _newDecoder(total, prompts.Max(p => p.Length) + maxNew);
        var rows = Enumerable.Range(0, total).Select(c => NewRow(request.Problems?[first + c / g])).ToArray();
        var heads = decoder.Acquire(promptCount);
        var prefill = decoder.Append(heads, prompts);
        var rowOf = new int[total];                                       // slot -> row (prompt * G + sample)
        for (int p = 0; p < promptCount; p++)
        {
            rowOf[heads[p]] = p * g;
            var forks = decoder.Fork(heads[p], g - 1);
            for (int k = 0; k < forks.Length; k++) rowOf[forks[k]] = p * g + k + 1;
        }
        var ready = Enumerable.Range(0, total).ToList();                   // slots whose next-token logits are in `carried`, in order
        Tensor? carried = prefill.index_select(0, tensor(ready.Select(s => (long)(rowOf[s] / g)).ToArray(), device: prefill.device));
        var waiting = new Dictionary<int, Task<ToolReply[]>>();           // slot -> its turn's tool calls

        while (ready.Count > 0 || waiting.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            if (ready.Count == 0) Task.WaitAny([.. waiting.Values], cancellationToken);   // nothing to decode until a tool answers
            var logits = carried;
            var resumed = Resume(waiting, rows, rowOf, maxNew, decoder);
            if (resumed.Slots.Count > 0)
            {
                var appended = decoder.Append(resumed.Slots, resumed.Tokens);
                logits = logits is null ? appended : cat([logits, appended]);
                ready.AddRange(resumed.Slots);
            }
            if (logits is null) continue;

            var (next, nextLogProbs) = TokenSampler.Sample(logits, options, _generator);
            // The step's one host synchronisation: the drawn ids and their log-probs, in one copy.
            var host = cat([next.to(ScalarType.Float64), nextLogProbs.to(ScalarType.Float64)]).cpu().data<double>().ToArray();
            var keep = new List<long>(ready.Count);
            for (int i = 0; i < ready.Count; i++)
            {
                var row = rows[rowOf[ready[i]]];
                int token = (int)host[i];
                row.Tokens.Add(token);
                row.LogProbs.Add((float)host[ready.Count + i]);
                row.Policy.Add(true);
                if (_eos.Contains(token)) EndTurn(row, ready[i], waiting, decoder, cancellationToken);
                else if (row.Tokens.Count >= maxNew) Finish(row, ready[i], FinishReason.Length, decoder);
                else keep.Add(i);
            }

            var old = carried;
            carried = null;
            if (keep.Count > 0)
            {
                if (keep.Count < ready.Count) next = next.index_select(0, tensor(keep.ToArray(), device: next.device));
                ready = keep.Select(i => ready[(int)i]).ToList();
                carried = decoder.Decode(ready, next).MoveToOuterDisposeScope();
            }
            else ready = [];
            old?.Dispose();
        }

        return rows.Select((row, c) => new Completion(first + c / g, c % g, [.. row.Tokens],
            _tokenizer.Decode(row.Tokens, skipSpecialTokens: true), [.. row.LogProbs], row.Reason)
        {
            PolicyTokenMask = [.. row.Policy],
            ToolCalls = row.Calls,
            ToolFailures = row.Failures,
            Messages = row.Messages,
            Environment = row.Environment,
        }).ToArray();
    }

    private Row NewRow(Problem? problem)
    {
        var environment = _environmentFactory?.Invoke();
        if (environment is not null) environment.Reset(problem!);
        var tools = new Dictionary<string, AIFunction>(StringComparer.Ordinal);
        foreach (var tool in _tools.Concat(environment?.Tools ?? []))
            if (!tools.TryAdd(tool.Name, tool))
                throw new InvalidOperationException($"Two tools are named '{tool.Name}' (standalone tools and the environment's methods); give each tool its own name.");
        return new Row(tools, environment);
    }

    /// <summary>
    /// A row's turn ended at end-of-sequence: with complete tool calls and rounds left, its calls start on the pool and
    /// it waits; otherwise it is finished.
    /// </summary>
    private void EndTurn(Row row, int slot, Dictionary<int, Task<ToolReply[]>> waiting, ISlotDecoder decoder, CancellationToken cancellationToken)
    {
        var text = _tokenizer.Decode(row.Tokens.Skip(row.TurnStart), skipSpecialTokens: true);
        var parsed = _parser.Parse(text);
        if (parsed.Calls.Count == 0)
        {
            Finish(row, slot, FinishReason.Eos, decoder);
            return;
        }
        row.Messages.Add(new AIChatMessage(ChatRole.Assistant, [new TextContent(parsed.Content), .. parsed.Calls]));
        if (row.Rounds >= _maxRounds)
        {
            row.Reason = FinishReason.ToolCallLimit;
            decoder.Release(slot);
            return;
        }
        waiting[slot] = ToolInvoker.InvokeAsync(parsed.Calls, row.Tools, _toolTimeout, cancellationToken);
    }

    /// <summary>The rows whose tools have answered, with the tokens each appends: its last sampled token, then the tool turn.</summary>
    private (List<int> Slots, List<IReadOnlyList<int>> Tokens) Resume(Dictionary<int, Task<ToolReply[]>> waiting, Row[] rows, int[] rowOf,
        int maxNew, ISlotDecoder decoder)
    {
        var slots = new List<int>();
        var tokens = new List<IReadOnlyList<int>>();
        foreach (var slot in waiting.Where(w => w.Value.IsCompleted).Select(w => w.Key).Order().ToList())
        {
            var replies = waiting[slot].GetAwaiter().GetResult();   // throws only when the rollout is cancelled
            waiting.Remove(slot);
            var row = rows[rowOf[slot]];
            row.Rounds++;
            row.Calls += replies.Length;
            row.Failures += replies.Count(r => r.Failed);
            var suffix = _turns.Encode(replies);
            if (row.Tokens.Count + suffix.Length >= maxNew)
            {
                // The reply leaves no room for a policy token: the completion budget is spent (TRL drops the reply).
                row.Reason = FinishReason.Length;
                decoder.Release(slot);
                continue;
            }
            row.Messages.Add(new AIChatMessage(ChatRole.Tool, [.. replies.Select(r => new FunctionResultContent(r.Call.CallId, r.Result))]));
            int last = row.Tokens[^1];
            row.Tokens.AddRange(suffix);
            row.LogProbs.AddRange(new float[suffix.Length]);
            row.Policy.AddRange(new bool[suffix.Length]);
            row.TurnStart = row.Tokens.Count;
            slots.Add(slot);
            tokens.Add([last, .. suffix]);
        }
        return (slots, tokens);
    }

    /// <summary>Ends a row for <paramref name="reason"/>: its last turn joins its messages and its slot is freed.</summary>
    private void Finish(Row row, int slot, FinishReason reason, ISlotDecoder decoder)
    {
        row.Reason = reason;
        row.Messages.Add(new AIChatMessage(ChatRole.Assistant, _tokenizer.Decode(row.Tokens.Skip(row.TurnStart), skipSpecialTokens: true)));
        decoder.Release(slot);
    }

    /// <inheritdoc/>
    public void Dispose() => _generator.Dispose();
}
