using System.CommandLine;
using Grpo.Sampling.Server;

namespace Grpo.Cli;

/// <summary>
/// <c>grpo train</c>'s options for rollouts from OpenAI-compatible servers (vLLM, <c>grpo serve</c>): the servers, the
/// folder they load each adapter version from, their API key and how often a version is published
/// (<see cref="ServerRollouts"/>).
/// </summary>
sealed class RolloutServerCliOptions
{
    /// <summary>The environment variable read for the API key when --rollout-api-key is not given (vLLM reads the same one for its --api-key).</summary>
    public const string ApiKeyVariable = "VLLM_API_KEY";

    readonly Option<string[]> _servers = new("--rollout-server")
    {
        Description = "Sample from this OpenAI-compatible server (vLLM started with --enable-lora, or grpo serve) instead of in process; " +
                      "repeat for replicas. The adapter is published to them after every step. Needs a LoRA adapter (not --full).",
        HelpName = "url",
    };
    readonly Option<DirectoryInfo?> _adapterDir = new("--adapter-dir")
    {
        Description = "Folder where each adapter version is written for the servers to load; they must see it at the same path. [default: OUTPUT/published-adapters]",
    };
    readonly Option<string?> _apiKey = new("--rollout-api-key") { Description = $"Bearer key of the rollout servers (vLLM's --api-key). [default: ${ApiKeyVariable}]" };
    readonly Option<int?> _publishSteps = new("--publish-steps")
    {
        Description = $"Publish the adapter to the servers every N optimizer steps. [default: {new RolloutServerOptions { Servers = [], AdapterDir = "." }.PublishSteps}]",
    };

    public void AddTo(Command command, Option<bool> full)
    {
        command.Options.Add(_servers);
        command.Options.Add(_adapterDir);
        command.Options.Add(_apiKey);
        command.Options.Add(_publishSteps);
        command.Validators.Add(result =>
        {
            var servers = result.GetValue(_servers) ?? [];
            if (servers.Length == 0)
            {
                foreach (var option in new Option[] { _adapterDir, _apiKey, _publishSteps })
                    if (result.GetResult(option) is not null)
                        result.AddError($"{option.Name} applies to rollout servers; give --rollout-server URL too, or leave it out.");
                return;
            }
            if (result.GetValue(full))
                result.AddError("--rollout-server needs a LoRA adapter: servers hot-load adapter folders, and --full would have to send them every weight " +
                                "after each step (a weight transport Grpo does not have). Leave out --full, or --rollout-server to sample in process.");
            foreach (var server in servers)
                if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                    result.AddError($"--rollout-server '{server}' is not an http(s) URL; give one like http://localhost:8000.");
            if (result.GetValue(_publishSteps) is < 1)
                result.AddError("--publish-steps must be 1 or more.");
        });
    }

    /// <summary>The servers' settings for a run writing to <paramref name="outputDir"/>, or null when no --rollout-server was given.</summary>
    public RolloutServerOptions? From(ParseResult parse, string outputDir)
    {
        if (parse.GetValue(_servers) is not { Length: > 0 } servers) return null;
        // The run's folder names its adapter versions, so runs sharing a server do not load over each other.
        var runName = new string([.. Path.GetFileName(outputDir.TrimEnd(Path.DirectorySeparatorChar)).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-')]);
        var options = new RolloutServerOptions
        {
            Servers = [.. servers.Select(s => new Uri(s))],
            AdapterDir = parse.GetValue(_adapterDir)?.FullName ?? Path.Combine(outputDir, "published-adapters"),
            ApiKey = parse.GetValue(_apiKey) ?? Environment.GetEnvironmentVariable(ApiKeyVariable),
            RunName = runName.Trim('.') is { Length: > 0 } name ? name : "grpo",
        };
        if (parse.GetValue(_publishSteps) is { } every) options = options with { PublishSteps = every };
        options.Validate();
        return options;
    }
}
