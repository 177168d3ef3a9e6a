using System.Text.Json.Nodes;
using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Sampling;
using Grpo.Sampling.Server;
using Grpo.Tests.Modeling;
using Grpo.Tests.Sampling;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace Grpo.Tests.Sampling.Server;

/// <summary>The server rollout client against fake OpenAI-compatible servers on loopback.</summary>
public sealed class ServerRolloutsTests : IDisposable
{
    private const int Eos = ByteTokenizer.Eos;
    private readonly string _adapterDir = TestModels.TempFolder();
    private readonly CausalLM _model = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3);
    private readonly LoraModel _lora;
    private readonly ListLogger _logger = new();
    private int _completedSteps;

    public ServerRolloutsTests() => _lora = LoraModel.Apply(_model, new LoraOptions { Rank = 2, Alpha = 4, Seed = 5 });

    private static readonly SamplingOptions Sampling = new()
    {
        Temperature = 0.7, TopP = 0.9, TopK = 0, MinP = 0.05, MaxNewTokens = 2, EosTokenIds = [Eos], StopStrings = ["!"],
    };

    private ServerRollouts Rollouts(IEnumerable<Uri> servers, Func<RolloutServerOptions, RolloutServerOptions>? change = null) =>
        new(_model, _lora, new ByteTokenizer(), Sampling,
            (change ?? (o => o))(new RolloutServerOptions { Servers = [.. servers], AdapterDir = _adapterDir, ApiKey = "secret", RunName = "run" }),
            () => _completedSteps, _logger);

    private static RolloutRequest Request(int prompts, long seed = 42, bool greedy = false) =>
        new([.. Enumerable.Range(0, prompts).Select(i => new[] { 'a' + i, 'z' })], GroupSize: 3, seed, greedy);

    /// <summary>What the fake server returns for prompt <paramref name="p"/> of <see cref="Request"/>, choice <paramref name="j"/>, written out by hand.</summary>
    private static void AssertIsChoice(Completion c, int p, int j)
    {
        Assert.Equal((p, j), (c.PromptIndex, c.SampleIndex));
        int first = 'a' + p, second = '0' + j;
        switch (j % 3)
        {
            case 0:
                Assert.Equal([first, second, Eos], c.TokenIds);
                Assert.Equal([-0.1f - j / 100f, -0.2f - j / 100f, -0.3f - j / 100f], c.LogProbs, new FloatClose());
                Assert.Equal(FinishReason.Eos, c.FinishReason);
                break;
            case 1:
                Assert.Equal([first, second], c.TokenIds);
                Assert.Equal([-0.1f - j / 100f, -0.2f - j / 100f], c.LogProbs, new FloatClose());
                Assert.Equal(FinishReason.Length, c.FinishReason);
                break;
            default:
                Assert.Equal([first, second], c.TokenIds);
                Assert.Equal(FinishReason.StopString, c.FinishReason);
                break;
        }
        Assert.Equal($"{(char)first}{(char)second}", c.Text);   // decoded here, special tokens skipped
    }

    [Fact]
    public async Task ARequestSendsEverySamplingFieldAndTheGroupsComeBackPromptByPrompt()
    {
        await using var server = await FakeRolloutServer.StartAsync();
        using var rollouts = Rollouts([new Uri(server.Url, "v1")]);

        var completions = await rollouts.GenerateAsync(Request(2));

        Assert.Equal(6, completions.Count);
        for (int i = 0; i < 6; i++) AssertIsChoice(completions[i], i / 3, i % 3);
        Assert.False(rollouts.LogProbsMatchTrainer);

        // A fresh adapter (B = 0) is the base model: its name comes from /v1/models, and nothing is published.
        Assert.Equal("base-model", rollouts.ServedModel);
        Assert.Empty(server.Loaded);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_adapterDir));
        Assert.All(server.Requests, r => Assert.Equal("Bearer secret", r.Authorization));

        var requests = server.CompletionRequests.OrderBy(r => r["prompt"]![0]!.GetValue<int>()).ToList();
        Assert.Equal(2, requests.Count);
        string[] fields = ["model", "prompt", "n", "max_tokens", "temperature", "top_p", "top_k", "min_p", "repetition_penalty",
            "presence_penalty", "frequency_penalty", "seed", "logprobs", "return_token_ids", "stop_token_ids", "stop",
            "include_stop_str_in_output", "skip_special_tokens", "add_special_tokens", "ignore_eos", "stream"];
        for (int p = 0; p < 2; p++)
        {
            var r = requests[p];
            Assert.Equal(fields.Order(), r.Select(kv => kv.Key).Order());
            Assert.Equal("base-model", r["model"]!.GetValue<string>());
            Assert.Equal([(int)'a' + p, 'z'], r["prompt"]!.AsArray().Select(n => n!.GetValue<int>()));
            Assert.Equal(3, r["n"]!.GetValue<int>());
            Assert.Equal(2, r["max_tokens"]!.GetValue<int>());
            Assert.Equal(0.7, r["temperature"]!.GetValue<double>());
            Assert.Equal(0.9, r["top_p"]!.GetValue<double>());
            Assert.Equal(-1, r["top_k"]!.GetValue<int>());
            Assert.Equal(0.05, r["min_p"]!.GetValue<double>());
            Assert.Equal(1.0, r["repetition_penalty"]!.GetValue<double>());
            Assert.Equal(0.0, r["presence_penalty"]!.GetValue<double>());
            Assert.Equal(0.0, r["frequency_penalty"]!.GetValue<double>());
            Assert.Equal(0, r["logprobs"]!.GetValue<int>());
            Assert.True(r["return_token_ids"]!.GetValue<bool>());
            Assert.Equal([Eos], r["stop_token_ids"]!.AsArray().Select(n => n!.GetValue<int>()));
            Assert.Equal(["!"], r["stop"]!.AsArray().Select(n => n!.GetValue<string>()));
            Assert.True(r["include_stop_str_in_output"]!.GetValue<bool>());
            Assert.True(r["skip_special_tokens"]!.GetValue<bool>());
            Assert.False(r["add_special_tokens"]!.GetValue<bool>());
            Assert.False(r["ignore_eos"]!.GetValue<bool>());
            Assert.False(r["stream"]!.GetValue<bool>());
            Assert.Equal(ServerRollouts.RequestSeed(42, p), r["seed"]!.GetValue<long>());
        }
    }

    [Fact]
    public void RequestSeedsDifferByPromptAndStepAndFitVllmsRange()
    {
        var seeds = new HashSet<long>();
        for (long step = 0; step < 20; step++)
            for (int prompt = 0; prompt < 50; prompt++)
            {
                long seed = ServerRollouts.RequestSeed(step, prompt);
                Assert.InRange(seed, 0, long.MaxValue);   // vLLM takes a signed 64-bit seed
                seeds.Add(seed);
            }
        Assert.Equal(1000, seeds.Count);
        Assert.Equal(ServerRollouts.RequestSeed(7, 3), ServerRollouts.RequestSeed(7, 3));
    }

    [Fact]
    public async Task AGreedyRequestTurnsSamplingOff()
    {
        await using var server = await FakeRolloutServer.StartAsync();
        using var rollouts = Rollouts([server.Url]);

        await rollouts.GenerateAsync(Request(1, greedy: true));

        var r = Assert.Single(server.CompletionRequests);
        Assert.Equal((0.0, 1.0, -1, 0.0), (r["temperature"]!.GetValue<double>(), r["top_p"]!.GetValue<double>(), r["top_k"]!.GetValue<int>(), r["min_p"]!.GetValue<double>()));
    }

    [Fact]
    public async Task TwoServersShareAStepsPrompts()
    {
        await using var a = await FakeRolloutServer.StartAsync();
        await using var b = await FakeRolloutServer.StartAsync();
        using var rollouts = Rollouts([a.Url, b.Url]);

        var completions = await rollouts.GenerateAsync(Request(4));

        for (int i = 0; i < 12; i++) AssertIsChoice(completions[i], i / 3, i % 3);
        Assert.Equal(2, a.CompletionRequests.Count());
        Assert.Equal(2, b.CompletionRequests.Count());
        Assert.Empty(_logger.Lines);
    }

    [Fact]
    public async Task AnUnreachableServerIsDroppedWithAWarningAndItsPromptsRetriedOnTheOther()
    {
        await using var alive = await FakeRolloutServer.StartAsync();
        var dead = FakeRolloutServer.Unreachable();
        using var rollouts = Rollouts([dead, alive.Url], o => o with { BaseModel = "base-model" });

        var completions = await rollouts.GenerateAsync(Request(4));

        for (int i = 0; i < 12; i++) AssertIsChoice(completions[i], i / 3, i % 3);
        Assert.Equal(4, alive.CompletionRequests.Count());
        Assert.Equal([alive.Url], rollouts.ActiveServers);
        var warning = Assert.Single(_logger.Lines);
        Assert.Contains(dead.ToString(), warning);
        Assert.Contains("dropped at step 1", warning);
    }

    [Fact]
    public async Task AServerThatHangsPastTheTimeoutIsDropped()
    {
        await using var alive = await FakeRolloutServer.StartAsync();
        await using var hanging = await FakeRolloutServer.StartAsync();
        hanging.Intercept = async (path, _, aborted) =>
        {
            if (path == "/v1/completions") await Task.Delay(TimeSpan.FromSeconds(30), aborted);
            return null;
        };
        using var rollouts = Rollouts([hanging.Url, alive.Url], o => o with { RequestTimeout = TimeSpan.FromMilliseconds(500) });

        var completions = await rollouts.GenerateAsync(Request(2));

        for (int i = 0; i < 6; i++) AssertIsChoice(completions[i], i / 3, i % 3);
        Assert.Equal([alive.Url], rollouts.ActiveServers);
        Assert.Contains("no answer within 0.5 s", Assert.Single(_logger.Lines));
    }

    [Fact]
    public async Task ABusyServerIsAskedAgainAndKept()
    {
        await using var server = await FakeRolloutServer.StartAsync();
        int refusals = 2;
        server.Intercept = (path, _, _) => Task.FromResult<(int, string)?>(
            path == "/v1/completions" && Interlocked.Decrement(ref refusals) >= 0 ? (503, """{"error":{"message":"queue full"}}""") : null);
        using var rollouts = Rollouts([server.Url]);

        var completions = await rollouts.GenerateAsync(Request(1));

        for (int i = 0; i < 3; i++) AssertIsChoice(completions[i], 0, i);
        Assert.Equal(3, server.CompletionRequests.Count());
        Assert.Equal([server.Url], rollouts.ActiveServers);
        Assert.Empty(_logger.Lines);
    }

    [Fact]
    public async Task WithNoServerLeftTheRunStopsWithAClearError()
    {
        Uri first = FakeRolloutServer.Unreachable(), second = FakeRolloutServer.Unreachable();
        using var rollouts = Rollouts([first, second], o => o with { BaseModel = "base-model" });

        var e = await Assert.ThrowsAsync<RolloutServerException>(() => rollouts.GenerateAsync(Request(2)));

        Assert.Null(e.Server);
        Assert.StartsWith("No rollout server is left at step 1", e.Message);
        Assert.Contains(first.ToString(), e.Message);
        Assert.Contains(second.ToString(), e.Message);
        Assert.Contains("resume", e.Message);
    }

    [Fact]
    public async Task AServerThatRefusesACompletionStopsTheRunNamingItAndTheStep()
    {
        await using var server = await FakeRolloutServer.StartAsync();
        server.Intercept = (path, _, _) => Task.FromResult<(int, string)?>(path == "/v1/completions"
            ? (400, """{"error":{"message":"This model's maximum context length is 8 tokens."}}""") : null);
        using var rollouts = Rollouts([server.Url]);

        var e = await Assert.ThrowsAsync<RolloutServerException>(() => rollouts.GenerateAsync(Request(1)));

        Assert.Equal(server.Url, e.Server);
        Assert.Equal(1, e.Step);
        Assert.Contains($"Rollout server {server.Url} refused the completions of step 1", e.Message);
        Assert.Contains("HTTP 400 BadRequest: This model's maximum context length is 8 tokens.", e.Message);
    }

    [Fact]
    public async Task AnAdapterTheServerRejectsStopsTheRunNamingTheServerAndTheStep()
    {
        await using var good = await FakeRolloutServer.StartAsync();
        await using var bad = await FakeRolloutServer.StartAsync();
        bad.Intercept = (path, _, _) => Task.FromResult<(int, string)?>(path == "/v1/load_lora_adapter"
            ? (400, """{"error":{"message":"LoRA rank 2 is greater than max_lora_rank 1."}}""") : null);
        using var rollouts = Rollouts([good.Url, bad.Url]);
        _completedSteps = 3;

        var e = await Assert.ThrowsAsync<RolloutServerException>(() => rollouts.GenerateAsync(Request(2)));

        Assert.Equal((bad.Url, 4), (e.Server, e.Step));
        Assert.StartsWith($"Rollout server {bad.Url} rejected adapter 'run-step-3' (the policy after step 3, rank 2) before step 4: HTTP 400", e.Message);
        Assert.Contains("--max-lora-rank 2", e.Message);
        Assert.Empty(good.CompletionRequests);
    }

    [Fact]
    public async Task PublishingWritesAPeftFolderAndSwapsVersionsByName()
    {
        await using var server = await FakeRolloutServer.StartAsync();
        using var rollouts = Rollouts([server.Url], o => o with { PublishSteps = 2 });
        await rollouts.GenerateAsync(Request(1));   // step 1: the base model
        Assert.Equal("base-model", rollouts.ServedModel);

        // PublishSteps = 2: after one optimizer step the servers keep what they serve...
        Perturb(1);
        _completedSteps = 1;
        await rollouts.GenerateAsync(Request(1));
        Assert.Equal("base-model", server.CompletionRequests.Last()["model"]!.GetValue<string>());

        // ...and after two the adapter is published before generating. A temporary folder left by a crash mid-write
        // is replaced, never served.
        Perturb(2);
        _completedSteps = 2;
        Directory.CreateDirectory(Path.Combine(_adapterDir, ".run-step-2.tmp"));
        await rollouts.GenerateAsync(Request(1));
        var step2 = Path.Combine(_adapterDir, "run-step-2");
        Assert.Equal(step2, server.Loaded["run-step-2"]);
        Assert.Equal([step2], Directory.EnumerateFileSystemEntries(_adapterDir));
        Assert.Equal("run-step-2", server.CompletionRequests.Last()["model"]!.GetValue<string>());
        AssertSavedAdapterIsTheCurrentOne(step2);

        // One step later the version stays for sampling, but a greedy request (evaluation) measures the newest weights.
        Perturb(3);
        _completedSteps = 3;
        await rollouts.GenerateAsync(Request(1));
        Assert.Equal("run-step-2", server.CompletionRequests.Last()["model"]!.GetValue<string>());
        await rollouts.GenerateAsync(Request(1, greedy: true));
        Assert.Equal("run-step-3", server.CompletionRequests.Last()["model"]!.GetValue<string>());
        var step3 = Path.Combine(_adapterDir, "run-step-3");
        Assert.Equal([step3], Directory.EnumerateFileSystemEntries(_adapterDir));   // the old version is deleted once unloaded
        Assert.Equal(["run-step-3"], server.Loaded.Keys);
        AssertSavedAdapterIsTheCurrentOne(step3);

        var calls = server.Requests.Where(r => r.Path != "/v1/completions" && r.Path != "/v1/models").ToList();
        Assert.Equal(["/v1/load_lora_adapter", "/v1/load_lora_adapter", "/v1/unload_lora_adapter"], calls.Select(c => c.Path));
        Assert.Equal(("run-step-2", step2), (calls[0].Body!["lora_name"]!.GetValue<string>(), calls[0].Body!["lora_path"]!.GetValue<string>()));
        Assert.Equal("run-step-2", calls[2].Body!["lora_name"]!.GetValue<string>());
    }

    [Fact]
    public void FullFineTuningWithServersIsRefused()
    {
        var e = Assert.Throws<NotSupportedException>(() => new ServerRollouts(_model, null, new ByteTokenizer(), Sampling,
            new RolloutServerOptions { Servers = [new Uri("http://127.0.0.1:1")], AdapterDir = _adapterDir }, () => 0));
        Assert.Contains("need a LoRA adapter", e.Message);
        Assert.Contains("NCCL", e.Message);
    }

    [Theory]
    [InlineData("", "Servers is empty")]
    [InlineData("ftp://host/", "is not an http(s) URL")]
    [InlineData("http://host:8000/v1 http://host:8000/", "the same server twice")]
    public void BadServerListsAreRefused(string servers, string message)
    {
        var options = new RolloutServerOptions { Servers = [.. servers.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => new Uri(s))], AdapterDir = _adapterDir };
        Assert.Contains(message, Assert.Throws<ArgumentException>(options.Validate).Message);
    }

    /// <summary>Sets every B to a value that depends on the step, as an optimizer step would change them.</summary>
    private void Perturb(int step)
    {
        using var _ = no_grad();
        foreach (var (_, layer) in _lora.Layers) layer.lora!.B.fill_(0.01 * step);
    }

    /// <summary>The published folder loads, with PEFT's reader, into a fresh model as the same adapter.</summary>
    private void AssertSavedAdapterIsTheCurrentOne(string folder)
    {
        Assert.True(File.Exists(Path.Combine(folder, PeftAdapterConfig.FileName)));
        var fresh = CausalLM.Create(ModelConfig.Tiny("qwen3", vocabSize: 257), seed: 3);
        var loaded = LoraModel.Load(fresh, folder);
        foreach (var ((_, saved), (_, current)) in loaded.Layers.Zip(_lora.Layers))
        {
            Assert.True(saved.lora!.A.allclose(current.lora!.A, rtol: 0, atol: 0));
            Assert.True(saved.lora!.B.allclose(current.lora!.B, rtol: 0, atol: 0));
        }
    }

    public void Dispose()
    {
        _model.Dispose();
        Directory.Delete(_adapterDir, recursive: true);
    }

    private sealed class FloatClose : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) < 1e-6;
        public int GetHashCode(float obj) => 0;
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception));
        }
    }
}
