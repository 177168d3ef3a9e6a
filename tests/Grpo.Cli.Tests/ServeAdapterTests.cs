using System.Net;
using System.Text.Json;

namespace Grpo.Cli.Tests;

/// <summary>Adapters saved by LoraModel load by name, change the outputs to the adapted model's, and unload.</summary>
public sealed class ServeAdapterTests
{
    [Fact]
    public async Task ALoadedAdapterServesTheAdaptedModelUntilUnloaded()
    {
        await using var server = await ServeTestServer.StartAsync();
        var folder = server.SaveAdapter("step-1");
        var (status, _, text) = await server.PostAsync("/v1/load_lora_adapter", $$"""{"lora_name": "policy-1", "lora_path": {{JsonSerializer.Serialize(folder)}}}""");
        Assert.True(status == HttpStatusCode.OK, text);
        Assert.Equal("Success: LoRA adapter 'policy-1' added successfully.", text);
        var (again, _, _) = await server.PostAsync("/v1/load_lora_adapter", """{"lora_name": "policy-1", "lora_path": "step-1"}""");
        Assert.Equal(HttpStatusCode.BadRequest, again);

        var models = JsonDocument.Parse(await server.Client.GetStringAsync("/v1/models")).RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["tiny", "policy-1"], models.Select(m => m.GetProperty("id").GetString()));
        Assert.Equal("tiny", models[1].GetProperty("parent").GetString());

        const string request = """{"model": "policy-1", "prompt": [10, 20, 30], "max_tokens": 5, "seed": 3, "logprobs": 0, "return_token_ids": true}""";
        var (ok, body, bodyText) = await server.PostAsync("/v1/completions", request);
        Assert.True(ok == HttpStatusCode.OK, bodyText);
        Assert.Equal("policy-1", body.GetProperty("model").GetString());
        var choice = body.GetProperty("choices")[0];
        var ids = ServeTestServer.Ints(choice.GetProperty("token_ids"));
        var served = choice.GetProperty("logprobs").GetProperty("token_logprobs").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var adapted = server.TrainerLogProbs([10, 20, 30], ids, 1.0, folder);
        var baseModel = server.TrainerLogProbs([10, 20, 30], ids, 1.0);
        for (int t = 0; t < ids.Length; t++) Assert.True(Math.Abs(adapted[t] - served[t]) < 1e-4, $"token {t}: served {served[t]}, adapted model {adapted[t]}");
        Assert.True(adapted.Zip(baseModel).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "the adapter should change the model's log-probs");

        (status, _, text) = await server.PostAsync("/v1/unload_lora_adapter", """{"lora_name": "policy-1"}""");
        Assert.True(status == HttpStatusCode.OK, text);
        var (gone, error, _) = await server.PostAsync("/v1/completions", request);
        Assert.Equal(HttpStatusCode.NotFound, gone);
        Assert.Equal("model", error.GetProperty("error").GetProperty("param").GetString());
        Assert.Single(JsonDocument.Parse(await server.Client.GetStringAsync("/v1/models")).RootElement.GetProperty("data").EnumerateArray());
    }
}
