using System.Net;

namespace Grpo.Cli.Tests;

/// <summary>How <c>grpo serve</c> queues requests: concurrent ones decode in one batch, the queue is bounded, a departed client's request is dropped.</summary>
public sealed class ServeSchedulingTests
{
    /// <summary>Polls until <paramref name="condition"/> holds: waits for the server to see requests, asserts nothing about time.</summary>
    static async Task Until(Func<bool> condition)
    {
        for (int i = 0; i < 2000 && !condition(); i++) await Task.Delay(10);
        Assert.True(condition(), "the server never reached the expected state");
    }

    [Fact]
    public async Task TwoConcurrentRequestsDecodeInOneBatch()
    {
        await using var server = await ServeTestServer.StartAsync();
        var scheduler = server.Host.Scheduler;
        Task<(HttpStatusCode, System.Text.Json.JsonElement, string)> first, second;
        long before = scheduler.Batches;
        using (scheduler.Hold())
        {
            first = server.PostAsync("/v1/completions", """{"prompt": [1, 2, 3], "n": 2, "max_tokens": 4, "seed": 1, "logprobs": 0, "return_token_ids": true}""");
            second = server.PostAsync("/v1/completions", """{"prompt": ["hello", "x"], "n": 4, "max_tokens": 4, "logprobs": 0, "return_token_ids": true}""");
            await Until(() => scheduler.Queued == 2);
        }
        var (firstStatus, firstBody, firstText) = await first;
        var (secondStatus, secondBody, secondText) = await second;
        Assert.True(firstStatus == HttpStatusCode.OK, firstText);
        Assert.True(secondStatus == HttpStatusCode.OK, secondText);
        Assert.Equal(before + 1, scheduler.Batches);
        Assert.Equal(2, scheduler.LastBatchRequests);
        // Each request gets its own prompts' choices back, in order, and rows of different prompt lengths, left-padded
        // into one batch, still report the log-probs the trainer computes for each prompt alone.
        int[][] prompts = [[1, 2, 3], [1, 2, 3], .. Enumerable.Repeat("hello"u8.ToArray().Select(b => (int)b).ToArray(), 4), .. Enumerable.Repeat(new[] { (int)'x' }, 4)];
        var choices = firstBody.GetProperty("choices").EnumerateArray().Concat(secondBody.GetProperty("choices").EnumerateArray()).ToList();
        Assert.Equal(prompts.Length, choices.Count);
        for (int i = 0; i < choices.Count; i++)
        {
            Assert.Equal(prompts[i], ServeTestServer.Ints(choices[i].GetProperty("prompt_token_ids")));
            var ids = ServeTestServer.Ints(choices[i].GetProperty("token_ids"));
            var served = choices[i].GetProperty("logprobs").GetProperty("token_logprobs").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            var trainer = server.TrainerLogProbs(prompts[i], ids, 1.0);
            for (int t = 0; t < ids.Length; t++) Assert.True(Math.Abs(trainer[t] - served[t]) < 1e-4, $"choice {i} token {t}: served {served[t]}, trainer {trainer[t]}");
        }
    }

    [Fact]
    public async Task AFullQueueAnswers503AndTheQueuedRequestStillCompletes()
    {
        await using var server = await ServeTestServer.StartAsync(new Serve.ServeSettings { MaxQueue = 1 });
        var scheduler = server.Host.Scheduler;
        Task<(HttpStatusCode, System.Text.Json.JsonElement, string)> queued;
        using (scheduler.Hold())
        {
            queued = server.PostAsync("/v1/completions", """{"prompt": "a", "max_tokens": 2}""");
            await Until(() => scheduler.Queued == 1);
            var (status, body, _) = await server.PostAsync("/v1/completions", """{"prompt": "b", "max_tokens": 2}""");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Contains("--max-queue", body.GetProperty("error").GetProperty("message").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await queued).Item1);
    }

    [Fact]
    public async Task StoppingTheServerAnswersQueuedRequestsWith503()
    {
        await using var server = await ServeTestServer.StartAsync();
        var scheduler = server.Host.Scheduler;
        var hold = scheduler.Hold();
        var queued = server.PostAsync("/v1/completions", """{"prompt": "a", "max_tokens": 2}""");
        await Until(() => scheduler.Queued == 1);
        var stopping = server.Host.DisposeAsync();
        var (status, body, _) = await queued;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("another replica", body.GetProperty("error").GetProperty("message").GetString());
        hold.Dispose();
        await stopping;
    }

    [Fact]
    public async Task AQueuedRequestWhoseClientLeftIsDropped()
    {
        await using var server = await ServeTestServer.StartAsync();
        var scheduler = server.Host.Scheduler;
        long batches = scheduler.Batches;
        using (scheduler.Hold())
        {
            using var leave = new CancellationTokenSource();
            var abandoned = server.PostAsync("/v1/completions", """{"prompt": "a", "max_tokens": 2}""", cancellationToken: leave.Token);
            await Until(() => scheduler.Queued == 1);
            leave.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
            await Until(() => scheduler.Dropped == 1 && scheduler.Queued == 0);
        }
        Assert.Equal(HttpStatusCode.OK, (await server.PostAsync("/v1/completions", """{"prompt": "b", "max_tokens": 2}""")).Status);
        Assert.Equal(batches + 1, scheduler.Batches);
    }
}
