using System.Text;

namespace Grpo.Cli.Tests;

/// <summary><c>grpo serve</c> as the command: one parseable address line on stdout, a clean stop on cancellation, one-line refusals.</summary>
public sealed class ServeCommandTests : IDisposable
{
    readonly string _directory = Directory.CreateTempSubdirectory("grpo-cli-serve-command-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Captures stdout and completes when the first line is written.</summary>
    sealed class FirstLineWriter : StringWriter
    {
        public TaskCompletionSource<string> FirstLine { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            FirstLine.TrySetResult(value ?? "");
        }

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }

        public override Encoding Encoding => Encoding.UTF8;
    }

    [Fact]
    public async Task PrintsItsAddressServesAndStopsCleanly()
    {
        var model = TinyModelFolder.Create(Path.Combine(_directory, "model"));
        var adapter = ServeTestServer.SaveAdapter(model, Path.Combine(_directory, "adapter"));
        var stdout = new FirstLineWriter();
        using var stop = new CancellationTokenSource();
        var run = Cli.RunAsync(["serve", "--model", model, "--port", "0", "--lora-modules", $"mine={adapter}"], stdout, stop.Token);
        var line = await stdout.FirstLine.Task.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Matches(@"^listening on http://127\.0\.0\.1:\d+$", line);

        using var client = new HttpClient { BaseAddress = new Uri(line["listening on ".Length..]) };
        Assert.True((await client.GetAsync("/health")).IsSuccessStatusCode);
        var models = await client.GetStringAsync("/v1/models");
        Assert.Contains(System.Text.Json.JsonSerializer.Serialize(model), models);   // named as --model was given
        Assert.Contains("\"id\":\"mine\"", models);

        stop.Cancel();
        var (exitCode, _, error) = await run;
        Assert.True(exitCode == 0, error);
        Assert.Contains("grpo serve: stopped.", error);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/health"));
    }

    // A real process: 10 s to start under this machine's load, and its exit after the runtime's shutdown work.
    [Fact, Trait("Category", "Slow")]
    public async Task SigtermAnswersTheRequestInFlightWith503AndExitsZero()
    {
        var model = TinyModelFolder.Create(Path.Combine(_directory, "model"), alwaysSeven: true);
        using var serve = CliProcess.Start("Grpo.Cli.dll", "serve", "--model", model, "--port", "0");
        await serve.WaitForLineAsync("listening on ");
        using var client = new HttpClient { BaseAddress = new Uri(serve.Output.Split('\n')[0]["listening on ".Length..]) };
        // The model never ends a completion by itself: 64 rows of 2040 tokens (130k tokens, tens of seconds here).
        var inFlight = client.PostAsync("/v1/completions", new StringContent("""{"prompt": "a", "n": 64, "max_tokens": 2040}"""));
        await Task.Delay(TimeSpan.FromSeconds(1));   // for the request to reach the decode loop; nothing about time is asserted
        serve.Signal("TERM");

        Assert.Equal(0, await serve.WaitForExitAsync());
        using var response = await inFlight;
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("stop", await response.Content.ReadAsStringAsync());   // stopped while decoding, or stopping before its turn
        Assert.Equal("grpo serve: stopped.", Assert.Single(serve.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task AStartupAdapterThatDoesNotFitIsOneLine()
    {
        var model = TinyModelFolder.Create(Path.Combine(_directory, "model"));
        var (exitCode, _, error) = await Cli.RunAsync("serve", "--model", model, "--port", "0", "--lora-modules", "mine=/no/such/adapter");
        Assert.Equal(1, exitCode);
        Assert.Equal("grpo serve: --lora-modules mine=/no/such/adapter: The adapter folder '/no/such/adapter' does not exist.", error.TrimEnd('\n'));
    }

    [Theory]
    [InlineData("--host", "example.org", "is not an IP address")]
    [InlineData("--max-queue", "0", "--max-queue 0 must be at least 1")]
    [InlineData("--adapter-root", "/no/such/folder", "--adapter-root '/no/such/folder' does not exist")]
    [InlineData("--lora-modules", "mine", "--lora-modules 'mine' is not NAME=PATH")]
    public async Task BadOptionsAreOneLineBeforeTheModelLoads(string option, string value, string message)
    {
        var (exitCode, _, error) = await Cli.RunAsync("serve", "--model", Path.Combine(_directory, "none"), option, value);
        Assert.Equal(1, exitCode);
        Assert.Contains(message, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }
}
