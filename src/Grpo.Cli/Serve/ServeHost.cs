using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Grpo.Cli.Serve;

/// <summary>
/// The HTTP side of <c>grpo serve</c>: Kestrel with the endpoints of vLLM's OpenAI-compatible server that rollouts and
/// OpenAI clients use (<c>/v1/models</c>, <c>/v1/completions</c>, <c>/v1/chat/completions</c>,
/// <c>/v1/load_lora_adapter</c>, <c>/v1/unload_lora_adapter</c>, <c>/health</c>). Every refusal is an OpenAI-style
/// error body with a 4xx (503 when the queue is full), and no bad request stops the server.
/// </summary>
sealed class ServeHost : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    int _disposed;

    ServeHost(WebApplication app, ServedModels models, ServeScheduler scheduler, string? apiKey)
    {
        _app = app;
        Models = models;
        Scheduler = scheduler;
        Map(apiKey);
    }

    /// <summary>The base address it listens on, with the actual port when port 0 was asked for.</summary>
    public Uri Address { get; private set; } = null!;
    public ServedModels Models { get; }
    public ServeScheduler Scheduler { get; }

    /// <summary>Starts serving <paramref name="models"/> (which it then owns and disposes) as <paramref name="settings"/> say.</summary>
    public static async Task<ServeHost> StartAsync(ServedModels models, ServeSettings settings, CancellationToken cancellationToken)
    {
        settings.Validate();
        // Nothing logged to stdout, whose one line is the address.
        var app = LoopbackHost.Create(settings.ListenAddress(), settings.Port);
        var scheduler = new ServeScheduler(models, settings.MaxQueue, settings.MaxBatchRows);
        try
        {
            var host = new ServeHost(app, models, scheduler, settings.ApiKey);
            host.Address = await LoopbackHost.StartAsync(app, cancellationToken);
            return host;
        }
        catch
        {
            scheduler.Dispose();
            await app.DisposeAsync();
            throw;
        }
    }

    void Map(string? apiKey)
    {
        if (apiKey is not null)
            _app.Use(async (context, next) =>
            {
                if (!context.Request.Path.StartsWithSegments("/v1") || Authorized(context.Request, apiKey)) await next(context);
                else await new OpenAiError(StatusCodes.Status401Unauthorized, "AuthenticationError",
                    "Unauthorized: send the header 'Authorization: Bearer KEY' with the key this server was started with (--api-key).").WriteAsync(context.Response);
            });
        _app.MapGet("/health", context => Task.CompletedTask);
        // Prometheus text, as vLLM's /metrics (vllm:request_success_total): how many requests this replica answered.
        _app.MapGet("/metrics", context => context.Response.WriteAsync(
            $"# TYPE grpo:request_success_total counter\ngrpo:request_success_total {Scheduler.Completed}\n"));
        _app.MapGet("/v1/models", context => Json(context.Response, OpenAiResponses.Models(Models, _created)));
        _app.MapPost("/v1/completions", context => Handle(context, () => GenerateAsync(context, chat: false)));
        _app.MapPost("/v1/chat/completions", context => Handle(context, () => GenerateAsync(context, chat: true)));
        _app.MapPost("/v1/load_lora_adapter", context => Handle(context, () => LoadAdapterAsync(context)));
        _app.MapPost("/v1/unload_lora_adapter", context => Handle(context, () => UnloadAdapterAsync(context)));
    }

    /// <summary>Whether the request carries the API key, compared in constant time.</summary>
    static bool Authorized(HttpRequest request, string apiKey)
    {
        var header = request.Headers.Authorization.ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), Encoding.UTF8.GetBytes("Bearer " + apiKey));
    }

    /// <summary>Runs an endpoint: refusals become their error bodies, a client that went gets nothing, anything else a 500.</summary>
    static async Task Handle(HttpContext context, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (OpenAiError error)
        {
            await error.WriteAsync(context.Response);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client disconnected: there is no one to answer.
        }
        catch (OperationCanceledException)
        {
            await new OpenAiError(StatusCodes.Status503ServiceUnavailable, "ServiceUnavailableError", "The server stopped while decoding this request; send it to another replica.")
                .WriteAsync(context.Response);
        }
        catch (Exception e)
        {
            await new OpenAiError(StatusCodes.Status500InternalServerError, "InternalServerError", e.Message.Split('\n')[0].Trim()).WriteAsync(context.Response);
        }
    }

    async Task GenerateAsync(HttpContext context, bool chat)
    {
        GenerationRequest request;
        var (fields, document) = await RequestFields.ReadAsync(context.Request.Body, context.RequestAborted);
        using (document)
            request = chat ? GenerationRequest.ReadChat(fields, Models) : GenerationRequest.ReadCompletion(fields, Models);
        var completions = await Scheduler.GenerateAsync(request, context.RequestAborted);
        // Adapters sit on the base model, so the base's end-of-sequence ids are every model's.
        var eos = Models.Base.EosTokenIds;
        await Json(context.Response, chat
            ? OpenAiResponses.Chat(request, completions, Models, eos)
            : OpenAiResponses.Completion(request, completions, Models, eos));
    }

    /// <summary>vLLM's <c>/v1/load_lora_adapter {"lora_name", "lora_path"}</c>: 200 with a line of text, as vLLM answers.</summary>
    async Task LoadAdapterAsync(HttpContext context)
    {
        string name, path;
        var (fields, document) = await RequestFields.ReadAsync(context.Request.Body, context.RequestAborted);
        using (document)
        {
            name = fields.String("lora_name") ?? "";
            path = fields.String("lora_path") ?? "";
        }
        if (name == "" || path == "")
            throw new OpenAiError(StatusCodes.Status400BadRequest, "InvalidUserInput", "Both 'lora_name' and 'lora_path' must be provided.", name == "" ? "lora_name" : "lora_path");
        await Scheduler.RunAsync(() => Models.LoadAdapter(name, path));
        await context.Response.WriteAsync($"Success: LoRA adapter '{name}' added successfully.");
    }

    /// <summary>vLLM's <c>/v1/unload_lora_adapter {"lora_name"}</c>.</summary>
    async Task UnloadAdapterAsync(HttpContext context)
    {
        string name;
        var (fields, document) = await RequestFields.ReadAsync(context.Request.Body, context.RequestAborted);
        using (document)
            name = fields.String("lora_name") ?? "";
        if (name == "")
            throw new OpenAiError(StatusCodes.Status400BadRequest, "InvalidUserInput", "'lora_name' needs to be provided to unload a LoRA adapter.", "lora_name");
        await Scheduler.RunAsync(() => Models.UnloadAdapter(name));
        await context.Response.WriteAsync($"Success: LoRA adapter '{name}' removed successfully.");
    }

    static Task Json(HttpResponse response, JsonObject body)
    {
        response.ContentType = "application/json";
        return response.WriteAsync(body.ToJsonString(OpenAiResponses.Json));
    }

    /// <summary>Stops decoding (queued requests get 503), then stops listening, then frees the models. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Scheduler.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Models.Dispose();
    }
}
