using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Grpo.Cli.Serve;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Grpo.Tests.Sampling.Server;

/// <summary>
/// An OpenAI-compatible server on loopback port 0 that records every request and answers as vLLM's protocol does,
/// with completions computed from the request by <see cref="Choice"/> (so a test can compute the expected ones itself).
/// <see cref="Intercept"/> replaces an answer: an error status, or a hang.
/// </summary>
internal sealed class FakeRolloutServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeRolloutServer(WebApplication app, Uri url) => (_app, Url) = (app, url);

    public Uri Url { get; }

    /// <summary>Every request, in arrival order: path, JSON body (null for a GET), Authorization header.</summary>
    public ConcurrentQueue<(string Path, JsonObject? Body, string? Authorization)> Requests { get; } = new();

    /// <summary>Names of the adapters loaded now.</summary>
    public ConcurrentDictionary<string, string> Loaded { get; } = new();

    /// <summary>Given the path and body, an answer (status, JSON) that replaces the normal one, or null for the normal one.</summary>
    public Func<string, JsonObject?, CancellationToken, Task<(int Status, string Body)?>>? Intercept { get; set; }

    public IEnumerable<JsonObject> CompletionRequests => Requests.Where(r => r.Path == "/v1/completions").Select(r => r.Body!);

    /// <summary>
    /// Completion <paramref name="j"/> of a prompt: its first id, then '0' + j; choice j % 3 == 0 ends with the first
    /// stop token ("stop", stop_reason null), 1 is cut at the limit ("length"), 2 ends at a stop string
    /// ("stop", stop_reason "!"). Token t of choice j has log-prob -(t + 1) / 10 - j / 100.
    /// </summary>
    public static (int[] Ids, double[] LogProbs, string Finish, string? StopReason) Choice(int[] prompt, int j, int eos)
    {
        int[] ids = j % 3 == 0 ? [prompt[0], '0' + j, eos] : [prompt[0], '0' + j];
        var logprobs = ids.Select((_, t) => -(t + 1) / 10.0 - j / 100.0).ToArray();
        return (ids, logprobs, j % 3 == 1 ? "length" : "stop", j % 3 == 2 ? "!" : null);
    }

    public static async Task<FakeRolloutServer> StartAsync()
    {
        // Stopping waits a second at most for a request an intercept holds.
        var app = LoopbackHost.Create(IPAddress.Loopback, 0, shutdownTimeout: TimeSpan.FromSeconds(1));
        FakeRolloutServer? server = null;
        app.Run(async context =>
        {
            JsonObject? body = null;
            if (context.Request.Method == "POST")
                body = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))!.AsObject();
            var path = context.Request.Path.Value!;
            server!.Requests.Enqueue((path, body, context.Request.Headers.Authorization.FirstOrDefault()));
            var (status, json) = await server.AnswerAsync(path, body, context.RequestAborted);
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(json, context.RequestAborted);
        });
        server = new FakeRolloutServer(app, await LoopbackHost.StartAsync(app));
        return server;
    }

    /// <summary>A loopback URL where nothing listens: connections are refused.</summary>
    public static Uri Unreachable()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}");
    }

    private async Task<(int, string)> AnswerAsync(string path, JsonObject? body, CancellationToken aborted)
    {
        if (Intercept is not null && await Intercept(path, body, aborted) is { } replaced) return replaced;
        switch (path)
        {
            case "/v1/models":
                // An adapter listed first, so the client must pick the base by its missing parent.
                return (200, """{"object":"list","data":[{"id":"old-adapter","parent":"base-model"},{"id":"base-model","parent":null}]}""");
            case "/v1/load_lora_adapter":
                Loaded[body!["lora_name"]!.GetValue<string>()] = body["lora_path"]!.GetValue<string>();
                return (200, "\"Success\"");
            case "/v1/unload_lora_adapter":
                return Loaded.TryRemove(body!["lora_name"]!.GetValue<string>(), out _) ? (200, "\"Success\"") : (404, """{"error":{"message":"not loaded"}}""");
            case "/v1/completions":
                var prompt = body!["prompt"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
                int eos = body["stop_token_ids"]!.AsArray()[0]!.GetValue<int>();
                var choices = new JsonArray();
                for (int j = 0; j < body["n"]!.GetValue<int>(); j++)
                {
                    var (ids, logprobs, finish, stopReason) = Choice(prompt, j, eos);
                    choices.Add(new JsonObject
                    {
                        ["index"] = j,
                        ["text"] = "ignored: the client decodes token_ids itself",
                        ["token_ids"] = new JsonArray([.. ids.Select(i => (JsonNode)i)]),
                        ["logprobs"] = new JsonObject { ["token_logprobs"] = new JsonArray([.. logprobs.Select(l => (JsonNode)l)]) },
                        ["finish_reason"] = finish,
                        ["stop_reason"] = stopReason,
                    });
                }
                // Choices in reverse order: the client must place them by index.
                var reversed = new JsonArray([.. choices.Reverse().Select(c => c!.DeepClone())]);
                return (200, new JsonObject { ["object"] = "text_completion", ["model"] = body["model"]!.GetValue<string>(), ["choices"] = reversed }.ToJsonString());
            default:
                return (404, """{"error":{"message":"no such route"}}""");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
