using System.Net;
using System.Text.Json;

namespace Grpo.Cli.Tests;

/// <summary>
/// <c>grpo serve</c>'s continuous batching: a request joins a batch that is already decoding, with its own settings
/// and seed, and requests for different adapters share one base model, each decoding with its own adapter.
/// </summary>
public sealed class ServeJoiningTests
{
    /// <summary>Polls until <paramref name="condition"/> holds: waits for the server to get somewhere, asserts nothing about time.</summary>
    static async Task Until(Func<bool> condition)
    {
        for (int i = 0; i < 3000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), "the server never reached the expected state");
    }

    static (int[] Ids, float[] LogProbs)[] Choices(JsonElement body) =>
        body.GetProperty("choices").EnumerateArray().Select(c => (ServeTestServer.Ints(c.GetProperty("token_ids")),
            c.GetProperty("logprobs").GetProperty("token_logprobs").EnumerateArray().Select(e => e.GetSingle()).ToArray())).ToArray();

    [Fact]
    public async Task ASeededRequestDrawsTheSameTokensAloneOrJoiningARunningBatch()
    {
        await using var server = await ServeTestServer.StartAsync();
        var scheduler = server.Host.Scheduler;
        const string seeded = """{"prompt": [5, 6, 7], "n": 3, "max_tokens": 12, "seed": 11, "temperature": 0.8, "top_p": 0.9, "logprobs": 0, "return_token_ids": true}""";
        var (status, alone, text) = await server.PostAsync("/v1/completions", seeded);
        Assert.True(status == HttpStatusCode.OK, text);

        long batches = scheduler.Batches, steps = scheduler.Steps;
        // A long request with other settings starts first; the seeded one arrives while its rows are mid-way.
        var running = server.PostAsync("/v1/completions", """{"prompt": "a longer prompt", "n": 8, "max_tokens": 200, "temperature": 1.3, "top_k": 20, "seed": 3}""");
        await Until(() => scheduler.Steps >= steps + 3);
        var (joinedStatus, joined, joinedText) = await server.PostAsync("/v1/completions", seeded);
        Assert.True(joinedStatus == HttpStatusCode.OK, joinedText);
        var (runningStatus, _, runningText) = await running;
        Assert.True(runningStatus == HttpStatusCode.OK, runningText);
        Assert.Equal(batches + 1, scheduler.Batches);          // it joined the running batch rather than waiting for its own
        Assert.Equal(2, scheduler.LastBatchRequests);

        var before = Choices(alone);
        var after = Choices(joined);
        Assert.Equal(3, after.Length);
        Assert.True(before.Select(c => string.Join(",", c.Ids)).Distinct().Count() > 1, "the request's rows should draw apart");
        for (int i = 0; i < before.Length; i++)
        {
            Assert.Equal(before[i].Ids, after[i].Ids);
            for (int t = 0; t < before[i].LogProbs.Length; t++)
                Assert.True(Math.Abs(before[i].LogProbs[t] - after[i].LogProbs[t]) < 1e-5, $"choice {i} token {t}: alone {before[i].LogProbs[t]}, joined {after[i].LogProbs[t]}");
            // And they are the model's own log-probs at the request's temperature.
            var trainer = server.TrainerLogProbs([5, 6, 7], after[i].Ids, 0.8);
            for (int t = 0; t < trainer.Length; t++)
                Assert.True(Math.Abs(trainer[t] - after[i].LogProbs[t]) < 1e-4, $"choice {i} token {t}: served {after[i].LogProbs[t]}, trainer {trainer[t]}");
        }
    }

    [Fact]
    public async Task RequestsForTwoAdaptersAndTheBaseEachDecodeWithTheirOwnWeights()
    {
        await using var server = await ServeTestServer.StartAsync();
        var scheduler = server.Host.Scheduler;
        var first = server.SaveAdapter("one", seed: 7);
        var second = server.SaveAdapter("two", seed: 8);
        foreach (var (name, path) in new[] { ("one", "one"), ("two", "two") })
        {
            var (status, _, text) = await server.PostAsync("/v1/load_lora_adapter", $$"""{"lora_name": "{{name}}", "lora_path": "{{path}}"}""");
            Assert.True(status == HttpStatusCode.OK, text);
        }

        // Queued together, in an order that makes the adapters take turns: one, base, two, one.
        string[] models = ["one", ServeTestServer.ModelName, "two", "one"];
        long batches = scheduler.Batches;
        var requests = new List<Task<(HttpStatusCode Status, JsonElement Body, string Text)>>();
        using (scheduler.Hold())
            foreach (var m in models)
            {
                // One at a time into the queue, so they queue in this order.
                requests.Add(server.PostAsync("/v1/completions",
                    $$"""{"model": "{{m}}", "prompt": [10, 20, 30], "max_tokens": 6, "seed": 2, "logprobs": 0, "return_token_ids": true}"""));
                await Until(() => scheduler.Queued == requests.Count);
            }
        var answers = await Task.WhenAll(requests);
        Assert.Equal(batches + models.Length, scheduler.Batches);   // each its adapter's turn: no batch mixes two
        for (int i = 0; i < models.Length; i++)
        {
            Assert.True(answers[i].Status == HttpStatusCode.OK, answers[i].Text);
            var (ids, served) = Choices(answers[i].Body)[0];
            var adapter = models[i] switch { "one" => first, "two" => second, _ => null };
            var trainer = server.TrainerLogProbs([10, 20, 30], ids, 1.0, adapter);
            for (int t = 0; t < ids.Length; t++)
                Assert.True(Math.Abs(trainer[t] - served[t]) < 1e-4, $"request {i} ({models[i]}) token {t}: served {served[t]}, its model {trainer[t]}");
        }
        // The two adapters differ, so matching each one's log-probs means each request ran on its own.
        var (firstIds, _) = Choices(answers[0].Body)[0];
        var one = server.TrainerLogProbs([10, 20, 30], firstIds, 1.0, first);
        var two = server.TrainerLogProbs([10, 20, 30], firstIds, 1.0, second);
        Assert.True(one.Zip(two).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "the two adapters should give different log-probs");
    }

    [Fact]
    public async Task AnAdapterOfAnotherRankThanTheLoadedOnesIsRefused()
    {
        await using var server = await ServeTestServer.StartAsync();
        server.SaveAdapter("four", rank: 4);
        server.SaveAdapter("eight", rank: 8);
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("/v1/load_lora_adapter", """{"lora_name": "four", "lora_path": "four"}""")).Status);
        var (status, body, text) = await server.PostAsync("/v1/load_lora_adapter", """{"lora_name": "eight", "lora_path": "eight"}""");
        Assert.True(status == HttpStatusCode.BadRequest, text);
        Assert.Contains("rank 8", body.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("/v1/completions", """{"model": "four", "prompt": [1], "max_tokens": 2}""")).Status);
    }
}
