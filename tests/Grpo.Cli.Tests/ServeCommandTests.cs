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
        var stdout = new FirstLineWriter();
        using var stop = new CancellationTokenSource();
        var run = Cli.RunAsync(["serve", "--model", model, "--port", "0"], stdout, stop.Token);
        var line = await stdout.FirstLine.Task.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Matches(@"^listening on http://127\.0\.0\.1:\d+$", line);

        using var client = new HttpClient { BaseAddress = new Uri(line["listening on ".Length..]) };
        Assert.True((await client.GetAsync("/health")).IsSuccessStatusCode);
        Assert.Contains(model, await client.GetStringAsync("/v1/models"));   // named as --model was given

        stop.Cancel();
        var (exitCode, _, error) = await run;
        Assert.True(exitCode == 0, error);
        Assert.Contains("grpo serve: stopped.", error);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetAsync("/health"));
    }

    [Theory]
    [InlineData("--host", "example.org", "is not an IP address")]
    [InlineData("--max-queue", "0", "--max-queue 0 must be at least 1")]
    [InlineData("--adapter-root", "/no/such/folder", "--adapter-root '/no/such/folder' does not exist")]
    public async Task BadOptionsAreOneLineBeforeTheModelLoads(string option, string value, string message)
    {
        var (exitCode, _, error) = await Cli.RunAsync("serve", "--model", Path.Combine(_directory, "none"), option, value);
        Assert.Equal(1, exitCode);
        Assert.Contains(message, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }
}
