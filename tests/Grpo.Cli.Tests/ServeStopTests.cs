using System.Net;

namespace Grpo.Cli.Tests;

/// <summary>Stop strings and stop tokens on the model that always writes '7' (id 55), so every completion is known.</summary>
public sealed class ServeStopTests : IAsyncLifetime
{
    ServeTestServer _server = null!;

    public async Task InitializeAsync() => _server = await ServeTestServer.StartAsync(alwaysSeven: true);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("""{"prompt": "x", "max_tokens": 5, "temperature": 0, "stop": ["77"]}""", "", "stop", "\"77\"", 2)]
    [InlineData("""{"prompt": "x", "max_tokens": 5, "temperature": 0, "stop": "77", "include_stop_str_in_output": true}""", "77", "stop", "\"77\"", 2)]
    [InlineData("""{"prompt": "x", "max_tokens": 5, "temperature": 0, "stop_token_ids": [55]}""", "", "stop", "55", 1)]
    [InlineData("""{"prompt": "x", "max_tokens": 3, "temperature": 0}""", "777", "length", "null", 3)]
    public async Task StopsAsVllmReportsThem(string request, string text, string finishReason, string stopReason, int tokens)
    {
        var (status, body, raw) = await _server.PostAsync("/v1/completions", request.Replace("}", ", \"return_token_ids\": true}"));
        Assert.True(status == HttpStatusCode.OK, raw);
        var choice = Assert.Single(body.GetProperty("choices").EnumerateArray());
        Assert.Equal(text, choice.GetProperty("text").GetString());
        Assert.Equal(finishReason, choice.GetProperty("finish_reason").GetString());
        Assert.Equal(stopReason, choice.GetProperty("stop_reason").GetRawText());
        Assert.Equal(Enumerable.Repeat(55, tokens), ServeTestServer.Ints(choice.GetProperty("token_ids")));
    }
}
