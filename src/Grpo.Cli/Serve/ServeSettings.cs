using System.Net;

namespace Grpo.Cli.Serve;

/// <summary>How <c>grpo serve</c> listens and what it allows: its command-line options, checked.</summary>
sealed record ServeSettings
{
    /// <summary>The address to listen on; loopback unless told otherwise, so nothing off this machine can reach it by accident.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>The port; 0 picks a free one (printed on stdout).</summary>
    public int Port { get; init; } = 8000;
    /// <summary>When set, every /v1 request must carry <c>Authorization: Bearer KEY</c> (vLLM's --api-key); /health stays open.</summary>
    public string? ApiKey { get; init; }
    /// <summary>The folder adapters may be loaded from (and below); null refuses every load.</summary>
    public string? AdapterRoot { get; init; }
    /// <summary>The name requests give for the base model; null for the --model argument as given (vLLM's default).</summary>
    public string? ServedModelName { get; init; }
    /// <summary>The most generation requests waiting; more get 503.</summary>
    public int MaxQueue { get; init; } = 256;
    /// <summary>The most completions (prompts × n) decoding at once (the KV cache's slots); a larger request decodes alone.</summary>
    public int MaxBatchRows { get; init; } = 64;
    /// <summary>The most adapters loaded at once; each holds only its LoRA matrices (the base weights are shared).</summary>
    public int MaxLoras { get; init; } = 2;

    /// <summary>The address to bind, or an <see cref="ArgumentException"/> naming the option and the fix.</summary>
    public IPAddress ListenAddress()
    {
        if (Host == "localhost") return IPAddress.Loopback;
        return IPAddress.TryParse(Host, out var address) ? address
            : throw new ArgumentException($"--host '{Host}' is not an IP address; give 127.0.0.1 (loopback, the default), ::1, 0.0.0.0 (every interface) or localhost.");
    }

    /// <summary>Throws on values out of range, naming the option and the fix.</summary>
    public void Validate()
    {
        ListenAddress();
        if (Port is < 0 or > 65535) throw new ArgumentException($"--port {Port} is not a port; give 0 (pick a free one) to 65535.");
        if (MaxQueue < 1) throw new ArgumentException($"--max-queue {MaxQueue} must be at least 1.");
        if (MaxBatchRows < 1) throw new ArgumentException($"--max-batch-rows {MaxBatchRows} must be at least 1.");
        if (MaxLoras < 0) throw new ArgumentException($"--max-loras {MaxLoras} must be 0 (no adapters) or more.");
        if (ApiKey is "") throw new ArgumentException("--api-key is empty; give a key, or leave the option out to serve without one.");
        if (AdapterRoot is not null && !Directory.Exists(AdapterRoot))
            throw new DirectoryNotFoundException($"--adapter-root '{Path.GetFullPath(AdapterRoot)}' does not exist; create it, or give the folder the trainer saves adapters in.");
    }
}
