using System.Net;
using System.Text.Json;
using Grpo.Cli.Serve;

namespace Grpo.Cli.Tests;

/// <summary>Every bad request gets its 4xx with an OpenAI-style error body, and the server keeps serving.</summary>
public sealed class ServeValidationTests : IAsyncLifetime
{
    ServeTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ServeTestServer.StartAsync(new ServeSettings { ApiKey = "sesame" });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    const string Good = """{"model": "tiny", "prompt": "hi", "max_tokens": 2}""";

    [Theory]
    [InlineData("/v1/completions", "{\"prompt\": \"hi\"", 400, null, "not valid JSON")]
    [InlineData("/v1/completions", "[1, 2]", 400, null, "JSON object")]
    [InlineData("/v1/completions", """{"prompt": "hi", "n": 0}""", 400, "n", "at least 1")]
    [InlineData("/v1/completions", """{"prompt": "hi", "n": "two"}""", 400, "n", "whole number")]
    [InlineData("/v1/completions", """{"prompt": "hi", "max_tokens": 5000}""", 400, "max_tokens", "maximum context length is 2048")]
    [InlineData("/v1/completions", """{"prompt": [1, 300]}""", 400, "prompt", "outside the model's vocabulary")]
    [InlineData("/v1/completions", """{"prompt": ""}""", 400, "prompt", "empty")]
    [InlineData("/v1/completions", """{"max_tokens": 2}""", 400, "prompt", "missing")]
    [InlineData("/v1/completions", """{"prompt": "hi", "model": "nope"}""", 404, "model", "does not exist")]
    [InlineData("/v1/completions", """{"prompt": "hi", "logprobs": 5}""", 400, "logprobs", "only 0 is supported")]
    [InlineData("/v1/completions", """{"prompt": "hi", "echo": true}""", 400, "echo", "not supported")]
    [InlineData("/v1/completions", """{"prompt": "hi", "stream": true}""", 400, "stream", "not supported")]
    [InlineData("/v1/completions", """{"prompt": "hi", "top_p": 0}""", 400, "top_p", "(0, 1]")]
    [InlineData("/v1/completions", """{"prompt": "hi", "temperature": -1}""", 400, "temperature", "0 (greedy) or above")]
    [InlineData("/v1/completions", """{"prompt": "hi", "repetition_penalty": 1.05}""", 400, "repetition_penalty", "not supported")]
    [InlineData("/v1/chat/completions", """{"messages": "hi"}""", 400, "messages", "non-empty list")]
    [InlineData("/v1/load_lora_adapter", """{"lora_name": "a"}""", 400, "lora_path", "must be provided")]
    [InlineData("/v1/load_lora_adapter", """{"lora_name": "a", "lora_path": "missing"}""", 404, "lora_path", "does not exist")]
    [InlineData("/v1/load_lora_adapter", """{"lora_name": "a", "lora_path": "/"}""", 403, "lora_path", "outside the adapter root")]
    [InlineData("/v1/load_lora_adapter", """{"lora_name": "a", "lora_path": "../model"}""", 403, "lora_path", "outside the adapter root")]
    [InlineData("/v1/load_lora_adapter", """{"lora_name": "tiny", "lora_path": "x"}""", 400, "lora_name", "base model's name")]
    [InlineData("/v1/unload_lora_adapter", """{"lora_name": "a"}""", 404, "lora_name", "cannot be found")]
    public async Task ABadRequestGetsItsErrorAndTheNextOneSucceeds(string path, string json, int status, string? param, string message)
    {
        var (code, body, text) = await _server.PostAsync(path, json, "sesame");
        Assert.True((int)code == status, text);
        var error = body.GetProperty("error");
        Assert.Contains(message, error.GetProperty("message").GetString());
        Assert.Equal(param, error.GetProperty("param").ValueKind == JsonValueKind.Null ? null : error.GetProperty("param").GetString());
        Assert.Equal(status, error.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));

        var (next, _, nextText) = await _server.PostAsync("/v1/completions", Good, "sesame");
        Assert.True(next == HttpStatusCode.OK, nextText);
    }

    [Fact]
    public async Task ARequestWhoseCacheCannotFitInMemoryGetsA400AndTheServerServesOn()
    {
        // By hand: the tiny model's float32 keys and values (2 layers, 2 KV heads of 24) for 256 positions (a short
        // request's cache is rounded up to 256) and three vocabulary-wide float rows, per completion; an n twice as
        // large as this machine's memory allows.
        double perRow = 2.0 * 2 * 2 * 24 * 256 * 4 + 3.0 * 258 * 4;
        int n = (int)(2 * GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / perRow);

        var (code, body, text) = await _server.PostAsync("/v1/completions", $$"""{"model": "tiny", "prompt": "hi", "max_tokens": 2, "n": {{n}}}""", "sesame");
        Assert.True(code == HttpStatusCode.BadRequest, text);
        var message = body.GetProperty("error").GetProperty("message").GetString();
        Assert.Contains($"{n:N0} sequences of up to 256 tokens", message);
        Assert.Contains($"about {n * perRow / (1L << 30):N1} GiB", message);
        Assert.Contains("prompts × n", message);

        var (next, _, nextText) = await _server.PostAsync("/v1/completions", Good, "sesame");
        Assert.True(next == HttpStatusCode.OK, nextText);
    }

    [Fact]
    public async Task TwoBillionCompletionsInOneRequestAreRefused()
    {
        var (code, body, text) = await _server.PostAsync("/v1/completions", """{"model": "tiny", "prompt": ["a", "b"], "n": 2000000000}""", "sesame");
        Assert.True(code == HttpStatusCode.BadRequest, text);
        Assert.Contains("more completions than one request can hold", body.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task TheApiKeyGuardsV1ButNotHealth()
    {
        var (missing, body, _) = await _server.PostAsync("/v1/completions", Good);
        Assert.Equal(HttpStatusCode.Unauthorized, missing);
        Assert.Equal(401, body.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.PostAsync("/v1/completions", Good, "wrong")).Status);
        using (var models = await _server.Client.GetAsync("/v1/models"))
            Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);
        using (var health = await _server.Client.GetAsync("/health"))
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.PostAsync("/v1/completions", Good, "sesame")).Status);
    }

    [Fact]
    public async Task AnAdapterOfAnotherRankOrBaseIsRefused()
    {
        // Another rank: adapter_config.json says r = 8 while the saved matrices have rank 4.
        var rank = _server.SaveAdapter("rank");
        var config = Path.Combine(rank, "adapter_config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"r\": 4", "\"r\": 8"));
        var (code, body, text) = await _server.PostAsync("/v1/load_lora_adapter", """{"lora_name": "r", "lora_path": "rank"}""", "sesame");
        Assert.True(code == HttpStatusCode.BadRequest, text);
        Assert.Contains("does not fit", body.GetProperty("error").GetProperty("message").GetString());

        // Another base: trained on a folder other than the one served.
        var other = _server.SaveAdapter("base");
        config = Path.Combine(other, "adapter_config.json");
        var json = JsonDocument.Parse(File.ReadAllText(config)).RootElement;
        File.WriteAllText(config, File.ReadAllText(config).Replace(JsonSerializer.Serialize(json.GetProperty("base_model_name_or_path").GetString()), "\"/elsewhere/model\""));
        (code, body, text) = await _server.PostAsync("/v1/load_lora_adapter", """{"lora_name": "b", "lora_path": "base"}""", "sesame");
        Assert.True(code == HttpStatusCode.BadRequest, text);
        Assert.Contains("/elsewhere/model", body.GetProperty("error").GetProperty("message").GetString());

        Assert.Equal(HttpStatusCode.OK, (await _server.PostAsync("/v1/completions", Good, "sesame")).Status);
    }
}
