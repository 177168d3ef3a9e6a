using System.Net;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Tokenization;
using Microsoft.Extensions.Logging;

namespace Grpo.Sampling.Server;

/// <summary>
/// Rollouts from OpenAI-compatible inference servers (vLLM, <c>grpo serve</c>) while the LoRA adapter trains here:
/// the engine-neutral pattern of TRL's vLLM server mode, prime-rl and OpenPipe ART. Each step's prompts are spread
/// over the servers, one <c>POST /v1/completions</c> per prompt asking for the whole group (<c>n</c> = G) with the
/// prompt as token ids, every sampling field explicit, a seed derived from the step's, <c>logprobs: 0</c> (the sampled
/// token's log-prob) and <c>return_token_ids: true</c>. Before a step generates, when the policy has changed since it
/// was last published, the adapter is written as a PEFT folder under <see cref="RolloutServerOptions.AdapterDir"/>,
/// hot-loaded on every server with <c>POST /v1/load_lora_adapter</c> under a new name (<c>RUNNAME-step-N</c>), used as
/// <c>model</c>, and the previous version is unloaded (<c>POST /v1/unload_lora_adapter</c>) and deleted.
/// </summary>
/// <remarks>
/// <para>Start vLLM so that it reports the log-probs the trainer recomputes, temperature-scaled and unfiltered:
/// <c>VLLM_ALLOW_RUNTIME_LORA_UPDATING=True vllm serve MODEL --enable-lora --max-lora-rank R --max-loras 2
/// --logprobs-mode processed_logprobs</c>. vLLM's default, <c>raw_logprobs</c>, is taken before the temperature;
/// <c>processed_logprobs</c> after it and after top-k / top-p / min-p, so it matches the trainer only with those filters
/// off (TRL's defaults, and <see cref="SamplingOptions"/>'). The servers' numbers still differ from the trainer's
/// (another kernel, often bf16), so <see cref="LogProbsMatchTrainer"/> is false and the step's sampler-mismatch
/// correction (TRL's <c>vllm_importance_sampling_correction</c>) is on by default.</para>
/// <para>Failures: a server that cannot be reached, times out or fails inside (HTTP 5xx on a completion) is dropped
/// with a warning and its prompts are asked of the others, so a step never trains on fewer groups than it asked for.
/// A server that answers but refuses (a completion request with a 4xx, or any error loading an adapter: a wrong base
/// model or a rank over its <c>--max-lora-rank</c> must not be trained around) stops the run with a
/// <see cref="RolloutServerException"/> naming it and the step, as does having no server left; nothing of that step
/// is applied and the checkpoints on disk are intact.</para>
/// <para>Full fine-tuning is refused: a server hot-loads adapters from disk, and sending it every updated weight
/// would need a weight transport (NCCL in TRL) that Grpo does not have.</para>
/// </remarks>
public sealed class ServerRollouts : IRolloutSource, IDisposable
{
    /// <summary>Why a run without an adapter cannot use servers, and what to do instead.</summary>
    public const string FullFineTuningRefused =
        "Rollouts from a server need a LoRA adapter: servers hot-load adapter folders, and full fine-tuning would have to send " +
        "them every weight after each step, which needs a weight transport (NCCL) that Grpo does not have. Train a LoRA adapter " +
        "(LoraModel.Apply; grpo train without --full), or leave out the rollout servers to sample in process.";

    private readonly ITokenizer _tokenizer;
    private readonly SamplingOptions _sampling;
    private readonly IReadOnlyList<int> _eosTokenIds;
    private readonly RolloutServerOptions _options;
    private readonly Func<int> _completedSteps;
    private readonly ILogger? _logger;
    private readonly HttpClient _http;
    private readonly List<RolloutReplica> _replicas;
    private readonly AdapterPublisher _publisher;
    private readonly int _rank;
    private string? _model;            // what completions ask for: the base model's name or the newest adapter's
    private string? _adapter;          // the adapter loaded on the servers; null while the base model serves
    private int _publishedStep = -1;   // optimizer steps the served policy has had

    /// <summary>Rollouts of <paramref name="lora"/>'s policy from the servers in <paramref name="options"/>.</summary>
    /// <param name="model">The model being trained; its end-of-sequence ids are the default stop tokens.</param>
    /// <param name="lora">The adapter being trained, published to the servers as it changes. Null (full fine-tuning) is refused.</param>
    /// <param name="tokenizer">Decodes the returned token ids into the text rewards see.</param>
    /// <param name="sampling">Temperature, top-p, top-k, min-p, token limit, end ids and stop strings of every request.</param>
    /// <param name="options">The servers, the shared adapter folder and the publishing schedule.</param>
    /// <param name="completedSteps">Optimizer steps the policy has had so far (<c>GrpoRun.Step</c>): a change is what publishes a new version.</param>
    /// <param name="logger">Receives a warning for every server dropped; null for none.</param>
    /// <exception cref="NotSupportedException"><paramref name="lora"/> is null: full fine-tuning with servers.</exception>
    public ServerRollouts(CausalLM model, LoraModel? lora, ITokenizer tokenizer, SamplingOptions sampling, RolloutServerOptions options,
        Func<int> completedSteps, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(completedSteps);
        if (lora is null) throw new NotSupportedException(FullFineTuningRefused);
        sampling.Validate();
        options.Validate();
        (_tokenizer, _sampling, _options, _completedSteps, _logger) = (tokenizer, sampling, options, completedSteps, logger);
        _eosTokenIds = [.. sampling.EosTokenIds ?? model.EosTokenIds];
        _rank = lora.Options.Rank;
        // The timeout is per request (RolloutReplica), so a long generation is not cut by HttpClient's own 100 s.
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(Math.Min(30, options.RequestTimeout.TotalSeconds)) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _replicas = [.. options.Servers.Select(s => new RolloutReplica(s, _http, options))];
        _publisher = new AdapterPublisher(lora, options.AdapterDir, options.RunName);
    }

    /// <inheritdoc/>
    /// <remarks>False: the servers compute log-probs with their own kernels and precision.</remarks>
    public bool LogProbsMatchTrainer => false;

    /// <summary>The servers still in use (those not dropped), by root URL.</summary>
    public IReadOnlyList<Uri> ActiveServers => [.. _replicas.Where(r => r.Alive).Select(r => r.Url)];

    /// <summary>The name completions currently ask for: the base model's, or the newest published adapter's; null before the first request.</summary>
    public string? ServedModel => _model;

    /// <inheritdoc/>
    /// <exception cref="RolloutServerException">A server refused a request or an adapter, or none is left.</exception>
    /// <exception cref="InvalidDataException">A server's answer is not a completions response that fits the request.</exception>
    public async Task<IReadOnlyList<Completion>> GenerateAsync(RolloutRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        int completed = _completedSteps();
        int step = completed + 1;
        var model = await PolicyAsync(completed, request.Greedy, cancellationToken).ConfigureAwait(false);

        var groups = new Completion[request.Prompts.Count][];
        var pending = Enumerable.Range(0, request.Prompts.Count).ToList();
        while (pending.Count > 0)
        {
            var live = Live(step);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var attempts = pending.Select((prompt, k) => AskAsync(live[k % live.Count], prompt)).ToArray();
            await WhenAllOrFirstFailure(attempts, stop).ConfigureAwait(false);
            pending = [.. pending.Where((_, k) => !attempts[k].Result)];

            async Task<bool> AskAsync(RolloutReplica replica, int prompt)
            {
                var body = CompletionsProtocol.Request(model, [.. request.Prompts[prompt]], request.GroupSize, _sampling, _eosTokenIds,
                    RequestSeed(request.Seed, prompt), request.Greedy);
                try
                {
                    var (status, text) = await replica.PostAsync("v1/completions", body, stop.Token).ConfigureAwait(false);
                    // Busy (a full queue: grpo serve's bound, a proxy's rate limit) is not broken: ask again after a pause.
                    for (int retry = 0; Busy(status) && retry < BusyRetries; retry++)
                    {
                        await Task.Delay(BusyPause * (1 << retry), stop.Token).ConfigureAwait(false);
                        (status, text) = await replica.PostAsync("v1/completions", body, stop.Token).ConfigureAwait(false);
                    }
                    if ((int)status >= 500 || Busy(status))
                    {
                        Drop(replica, $"/v1/completions failed inside the server ({RolloutReplica.ErrorMessage(status, text)})", step);
                        return false;
                    }
                    if (status != HttpStatusCode.OK)
                        throw new RolloutServerException(replica.Url, step,
                            $"Rollout server {replica.Url} refused the completions of step {step} for model '{model}' ({RolloutReplica.ErrorMessage(status, text)}). " +
                            "Check that it serves this run's base model, that its --max-model-len holds the prompt plus MaxCompletionLength, and its API key.");
                    groups[prompt] = CompletionsProtocol.ReadChoices(text, prompt, request.GroupSize, _tokenizer, replica.Url);
                    return true;
                }
                catch (ReplicaUnavailableException e)
                {
                    Drop(replica, e.Message, step);
                    return false;
                }
            }
        }
        return [.. groups.SelectMany(g => g)];
    }

    /// <summary>How often a busy server (429, 503) is asked again before it is dropped, with pauses doubling from <see cref="BusyPause"/>.</summary>
    private const int BusyRetries = 5;

    private static readonly TimeSpan BusyPause = TimeSpan.FromMilliseconds(250);

    private static bool Busy(HttpStatusCode status) => status is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable;

    /// <summary>
    /// The model name this request asks for, publishing the adapter first when the policy has changed: after every
    /// <see cref="RolloutServerOptions.PublishSteps"/> steps, and for greedy requests (evaluation) whenever it has.
    /// </summary>
    private async Task<string> PolicyAsync(int completed, bool newest, CancellationToken cancellationToken)
    {
        bool due = _model is null || (completed != _publishedStep && (newest || completed - _publishedStep >= _options.PublishSteps));
        if (!due) return _model!;
        int step = completed + 1;
        if (_model is null && completed == 0 && _publisher.IsIdentity())
        {
            // A fresh adapter (B = 0) is the base model: no load needed for the first step.
            (_model, _publishedStep) = (await BaseModelAsync(step, cancellationToken).ConfigureAwait(false), 0);
            return _model;
        }

        var name = _publisher.Save(completed);
        var path = _publisher.PathOf(name);
        await OnEveryServer(step, async (replica, token) =>
        {
            var (status, text) = await replica.PostAsync("v1/load_lora_adapter",
                new JsonObject { ["lora_name"] = name, ["lora_path"] = path, ["load_inplace"] = true }, token).ConfigureAwait(false);
            // Any answer but success stops the run: vLLM reports an adapter it cannot take (wrong shapes, rank over
            // --max-lora-rank) as a 500, and training on around a server that serves something else is never right.
            if (status != HttpStatusCode.OK)
                throw new RolloutServerException(replica.Url, step,
                    $"Rollout server {replica.Url} rejected adapter '{name}' (the policy after step {completed}, rank {_rank}) before step {step}: " +
                    $"{RolloutReplica.ErrorMessage(status, text)}. Check that it serves this run's base model, was started with --enable-lora and " +
                    $"--max-lora-rank {_rank} or more (vLLM also needs VLLM_ALLOW_RUNTIME_LORA_UPDATING=True), and can read {path}.");
        }, cancellationToken).ConfigureAwait(false);

        var previous = _adapter;
        (_adapter, _model, _publishedStep) = (name, name, completed);
        if (previous is not null && previous != name)
        {
            await OnEveryServer(step, async (replica, token) =>
            {
                var (status, text) = await replica.PostAsync("v1/unload_lora_adapter", new JsonObject { ["lora_name"] = previous }, token).ConfigureAwait(false);
                // A version left loaded only costs the server memory; the run goes on.
                if (status != HttpStatusCode.OK)
                    _logger?.LogWarning("Rollout server {Server} did not unload adapter '{Adapter}' before step {Step}: {Error}",
                        replica.Url, previous, step, RolloutReplica.ErrorMessage(status, text));
            }, cancellationToken).ConfigureAwait(false);
            _publisher.Remove(previous);
        }
        return _model;
    }

    /// <summary>The base model's served name: <see cref="RolloutServerOptions.BaseModel"/>, or the first model without a parent in a server's <c>GET /v1/models</c>.</summary>
    private async Task<string> BaseModelAsync(int step, CancellationToken cancellationToken)
    {
        if (_options.BaseModel is { } configured) return configured;
        while (true)
        {
            var replica = Live(step)[0];
            try
            {
                var (status, text) = await replica.GetAsync("v1/models", cancellationToken).ConfigureAwait(false);
                if (status != HttpStatusCode.OK)
                    throw new RolloutServerException(replica.Url, step,
                        $"Rollout server {replica.Url} refused GET /v1/models before step {step} ({RolloutReplica.ErrorMessage(status, text)}). Check its API key, or set the base model's name (RolloutServerOptions.BaseModel).");
                return BaseModelName(text) ?? throw new RolloutServerException(replica.Url, step,
                    $"Rollout server {replica.Url} lists no base model in GET /v1/models; set the served name (RolloutServerOptions.BaseModel).");
            }
            catch (ReplicaUnavailableException e)
            {
                Drop(replica, e.Message, step);
            }
        }
    }

    private static string? BaseModelName(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (!json.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array) return null;
            // vLLM lists the base model first and each adapter with its base as "parent".
            return data.EnumerateArray()
                .Where(m => !m.TryGetProperty("parent", out var parent) || parent.ValueKind == JsonValueKind.Null)
                .Select(m => m.TryGetProperty("id", out var id) ? id.GetString() : null)
                .FirstOrDefault(id => !string.IsNullOrEmpty(id));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Runs <paramref name="action"/> on every live server at once; those that cannot be reached are dropped.</summary>
    private async Task OnEveryServer(int step, Func<RolloutReplica, CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var attempts = Live(step).Select(async replica =>
        {
            try
            {
                await action(replica, stop.Token).ConfigureAwait(false);
                return true;
            }
            catch (ReplicaUnavailableException e)
            {
                Drop(replica, e.Message, step);
                return false;
            }
        }).ToArray();
        await WhenAllOrFirstFailure(attempts, stop).ConfigureAwait(false);
        Live(step);   // none left: stop here, not at the next request
    }

    /// <summary>
    /// Awaits every attempt; when one fails, cancels the rest and rethrows that failure rather than a cancellation it caused.
    /// </summary>
    private static async Task WhenAllOrFirstFailure(Task<bool>[] attempts, CancellationTokenSource stop)
    {
        var remaining = attempts.ToList();
        while (remaining.Count > 0)
        {
            var done = await Task.WhenAny(remaining).ConfigureAwait(false);
            remaining.Remove(done);
            if (done.IsFaulted)
            {
                await stop.CancelAsync().ConfigureAwait(false);
                try { await Task.WhenAll(remaining).ConfigureAwait(false); }
                catch (Exception)
                {
                    // The first failure is the one that explains the stop; the others are its cancellations.
                }
                ExceptionDispatchInfo.Throw(done.Exception!.InnerException!);
            }
        }
        foreach (var attempt in attempts) await attempt.ConfigureAwait(false);   // rethrows a cancellation of the caller's
    }

    /// <summary>Stops using <paramref name="replica"/>, with one warning; the caller retries its work on the others.</summary>
    private void Drop(RolloutReplica replica, string reason, int step)
    {
        if (replica.Drop(reason))
            _logger?.LogWarning("Rollout server {Server} dropped at step {Step}: {Reason}. {Left} server(s) left; its prompts go to them.",
                replica.Url, step, reason, _replicas.Count(r => r.Alive));
    }

    private List<RolloutReplica> Live(int step)
    {
        var live = _replicas.Where(r => r.Alive).ToList();
        if (live.Count == 0)
            throw new RolloutServerException(null, step,
                $"No rollout server is left at step {step} ({string.Join("; ", _replicas.Select(r => $"{r.Url}: {r.DropReason}"))}). " +
                "Start the servers again, then resume the run from its newest checkpoint.");
        return live;
    }

    /// <summary>
    /// The seed of prompt <paramref name="prompt"/>'s request: mixed from the step's seed and the prompt's place
    /// (SplitMix64), so it does not depend on which server answers, and a retried prompt draws what the first try would have.
    /// </summary>
    internal static long RequestSeed(long seed, int prompt)
    {
        ulong z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * (ulong)(prompt + 1));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (long)((z ^ (z >> 31)) & long.MaxValue);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _http.Dispose();
        foreach (var replica in _replicas) replica.Dispose();
    }
}
