using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Tokenization;
using Microsoft.Extensions.AI;
using TorchSharp;
using static TorchSharp.torch;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Grpo.Chat;

/// <summary>
/// A Grpo model (a base <see cref="CausalLM"/>, with the LoRA adapter a run trained when there is one) as
/// Microsoft.Extensions.AI's <see cref="IChatClient"/>, so a trained model plugs into any .NET app written against
/// that interface, and into its middleware: <c>FunctionInvokingChatClient</c> runs the tools the model calls and sends
/// their results back. The conversation and the offered tools are written in the model's chat format
/// (<see cref="IToolChatFormatter"/>), the reply is generated on the <see cref="DecodeEngine"/> with
/// <see cref="TokenSampler"/>, and tool calls are read back with the format's <see cref="Tools.ToolCallParser"/> into
/// <see cref="FunctionCallContent"/>s (finish reason <see cref="ChatFinishReason.ToolCalls"/>).
/// <para>
/// Honoured <see cref="ChatOptions"/>: Temperature (0 is greedy), TopP, TopK, MaxOutputTokens, StopSequences (left out
/// of the reply, as OpenAI's API does), Seed (the same seed gives the same reply, the same as
/// <see cref="GroupSampler"/>'s with that seed), Instructions, Tools with ToolMode Auto or None, and
/// AllowMultipleToolCalls. Options it cannot honour (penalties, JSON response formats, a required tool call) are
/// refused with <see cref="NotSupportedException"/> rather than silently ignored; unset ones take the defaults given
/// to the constructor (TRL's: temperature 1, 256 new tokens).
/// </para>
/// <para>
/// Streaming yields text as it is generated, token by token, never splitting a multi-byte character and never
/// showing text that may turn out to be a stop sequence or a tool call; the updates' text joined is the non-streaming
/// reply's text. The model is not thread-safe, so requests run one at a time, each on its own thread; a request
/// waiting for its turn, or running, stops when its cancellation token fires. Without a Seed, each reply draws its own.
/// </para>
/// </summary>
public sealed class GrpoChatClient : IChatClient
{
    readonly CausalLM _model;
    readonly ITokenizer _tokenizer;
    readonly IChatFormatter _chatFormat;
    readonly SamplingOptions _defaults;
    readonly HashSet<int> _eos;
    readonly bool _ownsModel;
    readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>
    /// A chat client over <paramref name="model"/>, which it does not own. Put a trained adapter on the model first
    /// (<see cref="LoraModel.Load"/>) and pass it as <paramref name="adapter"/>, so the client can check it is this
    /// model's; it is used as it is (enabled, or merged).
    /// </summary>
    /// <param name="model">The model that writes the replies.</param>
    /// <param name="tokenizer">Its tokenizer.</param>
    /// <param name="chatFormat">Its chat format (<see cref="ChatFormats.FromTokenizerConfig"/>); an <see cref="IToolChatFormatter"/> to offer tools.</param>
    /// <param name="defaults">Sampling for the options a request leaves unset, with the ids that end a reply (default: the model's EOS ids); null for TRL's defaults.</param>
    /// <param name="adapter">The LoRA adapter on <paramref name="model"/>, or null.</param>
    public GrpoChatClient(CausalLM model, ITokenizer tokenizer, IChatFormatter chatFormat, SamplingOptions? defaults = null, LoraModel? adapter = null)
        : this(model, tokenizer, chatFormat, defaults, adapter, ownsModel: false)
    {
    }

    GrpoChatClient(CausalLM model, ITokenizer tokenizer, IChatFormatter chatFormat, SamplingOptions? defaults, LoraModel? adapter, bool ownsModel)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(chatFormat);
        _defaults = defaults ?? new SamplingOptions();
        _defaults.Validate();
        model.EnsureFits(tokenizer);
        if (adapter is not null && !ReferenceEquals(adapter.Model, model))
            throw new ArgumentException("The adapter is on another model; pass the model LoraModel.Load or LoraModel.Apply adapted.", nameof(adapter));
        _eos = [.. _defaults.EosTokenIds ?? model.EosTokenIds];
        if (_eos.Count == 0)
            throw new ArgumentException("No token ends a reply: the model's config gives no eos_token_id; set SamplingOptions.EosTokenIds in the defaults.", nameof(defaults));
        _model = model;
        _tokenizer = tokenizer;
        _chatFormat = chatFormat;
        Adapter = adapter;
        _ownsModel = ownsModel;
    }

    /// <summary>
    /// Opens a model folder as <c>save_pretrained</c> writes it (config.json, safetensors, tokenizer.json, and
    /// tokenizer_config.json with a chat template), with the adapter a run saved in <paramref name="adapterDirectory"/>
    /// (PEFT layout) on top when given. The client owns the model it loads and frees it when disposed. Replies end at
    /// the folder's EOS ids (generation_config.json and tokenizer_config.json).
    /// </summary>
    public static GrpoChatClient Open(string modelDirectory, string? adapterDirectory = null, SamplingOptions? defaults = null)
    {
        var path = Path.GetFullPath(modelDirectory);
        if (!Directory.Exists(path))
            throw new DirectoryNotFoundException($"Model folder '{path}' does not exist; pass a Hugging Face checkpoint folder (config.json, model.safetensors, tokenizer.json, tokenizer_config.json).");
        var configPath = Path.Combine(path, TokenizerConfig.FileName);
        if (!File.Exists(configPath))
            throw new InvalidDataException($"'{path}' has no {TokenizerConfig.FileName}, so its chat format is unknown; a chat client needs the folder's chat template.");
        var chatFormat = ChatFormats.FromTokenizerConfig(TokenizerConfig.FromFile(configPath));
        var tokenizer = HfTokenizer.FromDirectory(path);
        defaults = (defaults ?? new SamplingOptions()) with { EosTokenIds = defaults?.EosTokenIds ?? EosTokens.FromDirectory(path, tokenizer).ToList() };
        var model = Checkpoint.Load(path);
        try
        {
            var adapter = adapterDirectory is null ? null : LoraModel.Load(model, Path.GetFullPath(adapterDirectory));
            return new GrpoChatClient(model, tokenizer, chatFormat, defaults, adapter, ownsModel: true)
            {
                ModelId = Path.GetFileName(path.TrimEnd(Path.DirectorySeparatorChar))
                          + (adapterDirectory is null ? "" : "+" + Path.GetFileName(Path.GetFullPath(adapterDirectory).TrimEnd(Path.DirectorySeparatorChar))),
            };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The name replies report as their model; default "grpo".</summary>
    public string ModelId { get; init; } = "grpo";

    /// <summary>The LoRA adapter on the model, or null.</summary>
    public LoraModel? Adapter { get; }

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<AIChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AIChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        // Checked now, so a bad option fails the call itself rather than the first step of its enumeration.
        var request = ChatRequest.Create(messages, options, _chatFormat, _tokenizer, _defaults, _model.Config.MaxPositionEmbeddings);
        return Stream(request, cancellationToken);
    }

    async IAsyncEnumerable<ChatResponseUpdate> Stream(ChatRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var updates = Channel.CreateUnbounded<ChatResponseUpdate>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var reply = new ReplyInfo($"chatcmpl-{Guid.NewGuid():N}", DateTimeOffset.UtcNow, ModelId);
        // TorchSharp's dispose scopes and grad mode belong to a thread, so one dedicated thread runs the whole reply.
        var worker = Task.Factory.StartNew(() =>
        {
            try
            {
                Generate(request, reply, updates.Writer, stop.Token);
            }
            finally
            {
                updates.Writer.Complete();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await foreach (var update in updates.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // Updates already waiting in the channel are not checked by the reader; a cancelled caller gets none of them.
                cancellationToken.ThrowIfCancellationRequested();
                yield return update;
            }
            await worker.ConfigureAwait(false);
        }
        finally
        {
            // Stops the worker when the caller cancels or leaves early, and frees the model only once it has stopped.
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAny(worker).ConfigureAwait(false);
            _ = worker.Exception;
            _gate.Release();
        }
    }

    sealed record ReplyInfo(string ResponseId, DateTimeOffset CreatedAt, string ModelId);

    void Generate(ChatRequest request, ReplyInfo reply, ChannelWriter<ChatResponseUpdate> updates, CancellationToken cancellationToken)
    {
        ChatResponseUpdate Update(IList<AIContent> contents) => new(ChatRole.Assistant, contents)
        {
            ResponseId = reply.ResponseId, MessageId = reply.ResponseId, CreatedAt = reply.CreatedAt, ModelId = reply.ModelId,
        };

        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        _model.eval();   // a reply is the model as it is: no dropout
        using var engine = new DecodeEngine(_model, slots: 1, capacity: request.PromptIds.Length + request.MaxNewTokens);
        using var generator = new Generator((ulong)request.Seed, _model.Device);
        var slot = engine.Acquire(1);
        var logits = engine.Append(slot, [request.PromptIds]);
        var detokenizer = new IncrementalDetokenizer(_tokenizer);
        var text = new ReplyText(request.StopSequences, request.ToolCallParser);
        int generated = 0;
        var finish = ChatFinishReason.Length;
        while (generated < request.MaxNewTokens)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = NewDisposeScope();
            var (next, _) = TokenSampler.Sample(logits, request.Sampling, generator);
            int token = (int)next.cpu().item<long>();
            generated++;
            if (_eos.Contains(token))
            {
                finish = ChatFinishReason.Stop;
                break;
            }
            var release = text.Add(detokenizer.Add(token));
            if (release.Length > 0)
                updates.TryWrite(Update([new TextContent(release)]));
            if (text.Stopped)
            {
                finish = ChatFinishReason.Stop;
                break;
            }
            if (generated < request.MaxNewTokens)
            {
                var following = engine.Decode(slot, next).MoveToOuterDisposeScope();
                logits.Dispose();
                logits = following;
            }
        }
        // A character left incomplete when the reply ended is shown as U+FFFD, as a whole decode shows it.
        var flushed = text.Add(detokenizer.Flush());
        var (remaining, parsed) = text.Finish();
        var contents = new List<AIContent>();
        if (flushed.Length + remaining.Length > 0)
            contents.Add(new TextContent(flushed + remaining));
        var calls = parsed?.Calls ?? [];
        if (!request.AllowMultipleToolCalls)
            calls = calls.Take(1).ToList();
        foreach (var call in calls)
            // Unique ids, so the results of one turn's calls are never matched to another turn's.
            contents.Add(new FunctionCallContent($"call_{Guid.NewGuid():N}", call.Name, call.Arguments) { Exception = call.Exception });
        if (calls.Count > 0 && finish == ChatFinishReason.Stop)
            finish = ChatFinishReason.ToolCalls;
        contents.Add(new UsageContent(new UsageDetails
        {
            InputTokenCount = request.PromptIds.Length, OutputTokenCount = generated, TotalTokenCount = request.PromptIds.Length + generated,
        }));
        var last = Update(contents);
        last.FinishReason = finish;
        updates.TryWrite(last);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
            return null;
        if (serviceType == typeof(ChatClientMetadata))
            return new ChatClientMetadata("grpo", null, ModelId);
        if (serviceType.IsInstanceOfType(this))
            return this;
        if (serviceType.IsInstanceOfType(_model))
            return _model;
        return null;
    }

    /// <summary>Frees the model when <see cref="Open"/> loaded it; a model given to the constructor stays the caller's.</summary>
    public void Dispose()
    {
        if (_ownsModel)
            _model.Dispose();
        _gate.Dispose();
    }
}
