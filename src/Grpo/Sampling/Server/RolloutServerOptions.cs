namespace Grpo.Sampling.Server;

/// <summary>
/// Where <see cref="ServerRollouts"/> gets completions from and how it keeps the servers' policy current: the
/// OpenAI-compatible servers (vLLM, <c>grpo serve</c>) that serve the base model, the folder both this process and the
/// servers can read where each new adapter version is written, and how often one is published.
/// </summary>
public sealed record RolloutServerOptions
{
    /// <summary>
    /// Base URLs of the servers (replicas of one base model), e.g. <c>http://gpu1:8000</c>; a trailing <c>/v1</c> is
    /// accepted. Each step's prompts are spread over them; one that stops answering is dropped and its prompts retried
    /// on the others.
    /// </summary>
    public required IReadOnlyList<Uri> Servers { get; init; }

    /// <summary>
    /// Folder, seen by this process and by every server at the same path, where each adapter version is written as a
    /// PEFT folder (<c>RUNNAME-step-N</c>) before the servers load it; the previous version is removed once replaced.
    /// </summary>
    public required string AdapterDir { get; init; }

    /// <summary>Bearer token sent to every server (vLLM's <c>--api-key</c>); null sends none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Prefix of the adapter names the servers load (<c>RUNNAME-step-N</c>); default "grpo". A new name per version, since vLLM keys its prefix cache by adapter name.</summary>
    public string RunName { get; init; } = "grpo";

    /// <summary>
    /// Publish the adapter after every this many optimizer steps; default 1 (on-policy: every step samples from the
    /// newest weights). Larger values save adapter loads; the steps between sample from an older adapter, which the
    /// sampler-mismatch correction (<see cref="Training.GrpoOptions.SamplerImportanceSamplingCorrection"/>) weighs.
    /// Evaluation always publishes the newest weights first.
    /// </summary>
    public int PublishSteps { get; init; } = 1;

    /// <summary>
    /// Name of the base model as the servers serve it (vLLM's <c>--served-model-name</c>, by default the model path),
    /// used as <c>model</c> before the first adapter is published; default null asks the first server's <c>GET /v1/models</c>.
    /// </summary>
    public string? BaseModel { get; init; }

    /// <summary>Longest one request may take (a whole group's generation, or an adapter load) before its server is dropped; default 10 minutes.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Requests in flight to one server at a time (one per prompt, each asking for the whole group); default 32. The server batches them itself.</summary>
    public int MaxConcurrentRequests { get; init; } = 32;

    /// <summary>Throws on values out of range, naming the option and the fix.</summary>
    public void Validate()
    {
        if (Servers is null || Servers.Count == 0)
            throw new ArgumentException("Servers is empty; give the base URL of at least one rollout server, e.g. http://localhost:8000.", nameof(Servers));
        foreach (var server in Servers)
            if (server is null || !server.IsAbsoluteUri || (server.Scheme != Uri.UriSchemeHttp && server.Scheme != Uri.UriSchemeHttps))
                throw new ArgumentException($"Rollout server '{server}' is not an http(s) URL; give one like http://localhost:8000.", nameof(Servers));
        if (Servers.Select(Normalize).Distinct().Count() != Servers.Count)
            throw new ArgumentException("Servers lists the same server twice; give each replica once.", nameof(Servers));
        if (string.IsNullOrWhiteSpace(AdapterDir))
            throw new ArgumentException("AdapterDir is empty; give a folder that this process and every rollout server can read at the same path.", nameof(AdapterDir));
        if (string.IsNullOrWhiteSpace(RunName) || RunName.IndexOfAny([.. Path.GetInvalidFileNameChars(), ' ']) >= 0)
            throw new ArgumentException($"RunName '{RunName}' must be a non-empty name without spaces or path characters; it names the adapter folders and versions.", nameof(RunName));
        if (PublishSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(PublishSteps), PublishSteps, "PublishSteps must be 1 or more (1 publishes after every step).");
        if (RequestTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, "RequestTimeout must be positive.");
        if (MaxConcurrentRequests < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentRequests), MaxConcurrentRequests, "MaxConcurrentRequests must be 1 or more.");
    }

    /// <summary>The server's root, without a trailing slash or <c>/v1</c>: the OpenAI paths are appended to it.</summary>
    internal static Uri Normalize(Uri server)
    {
        var text = server.GetLeftPart(UriPartial.Path).TrimEnd('/');
        if (text.EndsWith("/v1", StringComparison.OrdinalIgnoreCase)) text = text[..^3];
        return new Uri(text + "/");
    }
}
