using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Grpo.Rewards.Code.Compilation;
using Grpo.Rewards.Code.Execution;
using Grpo.Rewards.Code.Worker;

namespace Grpo.Rewards.Code.Tests;

/// <summary>
/// Workers never outlive the process that started them, and the folders of killed pools do not pile up. Processes
/// are found through /proc, so these tests need Linux, like the worker's kernel limits.
/// </summary>
public sealed class WorkerLifetimeTests : IDisposable
{
    const int SigKill = 9;
    const int SigTerm = 15;
    const string SpinningClass = "public static class M { public static void Spin() { while (true) { } } }";

    readonly string _temporary = Directory.CreateTempSubdirectory("grpo-lifetime-test-").FullName;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    static extern int SendSignal(int pid, int signal);

    [Theory]
    [Trait("Category", "Slow")] // the tool compiles before its worker spins: 20 to 50 s on a busy 2-core machine
    [InlineData(SigKill)]
    [InlineData(SigTerm)]
    public async Task Spinning_worker_dies_with_verify_code_and_the_next_pool_removes_the_dead_pools_folder(int signal)
    {
        var input = Path.Combine(_temporary, "spin.jsonl");
        File.WriteAllLines(input, [JsonSerializer.Serialize(new { completion = SpinningClass, tests = new[] { "Spin();" } })]);
        using var cli = GrpoCli.Start(_temporary, "verify-code", "--input", input, "--timeout", "120", "--workers", "1");
        var worker = await SpinningWorkerAsync();

        Assert.Equal(0, SendSignal(cli.Id, signal));
        using (var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            await cli.WaitForExitAsync(exit.Token);
        await Task.Delay(TimeSpan.FromSeconds(2));

        Assert.False(IsRunning(worker), $"worker {worker} outlived its parent by 2 s after signal {signal}");
        Assert.Empty(ProcessesMentioning(_temporary));
        var deadPools = GrpoCli.PoolFolders(_temporary);
        if (signal == SigKill)
            Assert.Single(deadPools); // kill -9 gives the tool no chance to delete its pool's folder: the next pool must

        using var live = new WorkerPool(new CodeVerifierOptions(), _temporary);
        using var next = new WorkerPool(new CodeVerifierOptions(), _temporary);
        Assert.Equal(new[] { live.FolderPath, next.FolderPath }.Order(StringComparer.Ordinal), GrpoCli.PoolFolders(_temporary).Order(StringComparer.Ordinal));
        Assert.All(deadPools, folder => Assert.False(Directory.Exists(folder)));
    }

    [Fact]
    public async Task Cancelling_a_spinning_program_kills_its_worker_and_dispose_deletes_the_pool_folder()
    {
        // The path a cancelled command (Ctrl+C) takes: the run throws, the worker goes, disposing removes the folder.
        var options = new CodeVerifierOptions { Timeout = TimeSpan.FromMinutes(2), Workers = 1 };
        var pool = new WorkerPool(options, _temporary);
        using var cancel = new CancellationTokenSource();
        var run = pool.RunAsync(SpinningProgram(options), cancel.Token);
        var worker = await SpinningWorkerAsync();

        var clock = Stopwatch.StartNew();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.False(IsRunning(worker));
        pool.Dispose();
        Assert.False(Directory.Exists(pool.FolderPath));
    }

    [Fact]
    public async Task Worker_ends_itself_when_a_program_overruns_and_the_pool_does_not_kill_it()
    {
        var options = new CodeVerifierOptions();
        using var folder = PoolFolder.Create(_temporary);
        var launch = new WorkerLaunch(folder.Path, options.MemoryLimitBytes);
        var program = SpinningProgram(options);
        using var worker = await WorkerProcess.StartAsync(launch, default);
        var request = new WorkerRequest("nonce", program.Image!, program.EntryType, program.Methods, 0, 0, TimeSpan.FromMilliseconds(200));

        // The pool side waits a minute; the worker's own watchdog must end it 1.2 s after it took the program.
        var clock = Stopwatch.StartNew();
        var outcome = await worker.RunAsync(request, TimeSpan.FromMinutes(1), _ => { }, default);

        Assert.Equal(WorkerOutcome.TimedOut, outcome);
        Assert.InRange(clock.Elapsed, request.TimeLimit + WorkerWatchdog.Grace, TimeSpan.FromSeconds(20));
        Assert.False(worker.IsAlive);
    }

    [Fact]
    public void New_pool_removes_folders_whose_owner_is_gone_and_keeps_the_rest()
    {
        var deadPid = ExitedProcessId();
        var dead = OwnedFolder("grpo-code-dead", deadPid);
        var lockedByLiveOwner = OwnedFolder("grpo-code-locked", deadPid);
        var oldWithoutOwner = Directory.CreateDirectory(Path.Combine(_temporary, "grpo-code-old")).FullName;
        Directory.SetLastWriteTimeUtc(oldWithoutOwner, DateTime.UtcNow.AddMinutes(-2));
        var youngWithoutOwner = Directory.CreateDirectory(Path.Combine(_temporary, "grpo-code-young")).FullName;
        var notAPool = Directory.CreateDirectory(Path.Combine(_temporary, "grpo-other")).FullName;
        var linkToAnotherFolder = Directory.CreateSymbolicLink(Path.Combine(_temporary, "grpo-code-link"), notAPool).FullName;
        // A live owner's lock protects its folder even when the recorded process id is stale.
        using var held = new FileStream(Path.Combine(lockedByLiveOwner, "owner.lock"), FileMode.Open, FileAccess.Read, FileShare.None);
        using var live = PoolFolder.Create(_temporary);

        using var next = PoolFolder.Create(_temporary);

        Assert.False(Directory.Exists(dead));
        Assert.False(Directory.Exists(oldWithoutOwner));
        Assert.All([lockedByLiveOwner, youngWithoutOwner, notAPool, linkToAnotherFolder, live.Path, next.Path], path => Assert.True(Directory.Exists(path), path));
    }

    [Fact]
    public void Disposed_pool_folder_is_deleted()
    {
        var folder = PoolFolder.Create(_temporary);
        File.WriteAllText(Path.Combine(folder.Path, "left-by-a-worker"), "x");
        folder.Dispose();
        Assert.False(Directory.Exists(folder.Path));
    }

    static CompiledProgram SpinningProgram(CodeVerifierOptions options) =>
        new ProgramCompiler(options.ImplicitUsings, checkApis: true).Compile(
            ProgramSource.ForTestList(SpinningClass, ["Spin();"], options.ImplicitUsings), default);

    string OwnedFolder(string name, int pid)
    {
        var path = Directory.CreateDirectory(Path.Combine(_temporary, name)).FullName;
        File.WriteAllText(Path.Combine(path, "owner.lock"), pid.ToString());
        return path;
    }

    // The id of a process that has exited (and been reaped), so no process has it now.
    static int ExitedProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("true"))!;
        process.WaitForExit();
        return process.Id;
    }

    // Waits until the pool's worker has used more CPU time than its start-up takes: it is spinning in the program.
    async Task<int> SpinningWorkerAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            foreach (var pid in ProcessesMentioning(_temporary, WorkerHost.WorkerArgument))
            {
                using var process = Process.GetProcessById(pid);
                if (process.TotalProcessorTime > TimeSpan.FromSeconds(1.5))
                    return pid;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("no worker started spinning within 90 s");
    }

    // Live (not zombie) processes whose command line contains every text: the tool names its input, and the
    // workers their pool's folder, both under this test's temporary folder.
    static List<int> ProcessesMentioning(params string[] texts)
    {
        var found = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
                continue;
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline"));
                if (texts.All(commandLine.Contains) && IsRunning(pid))
                    found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked.
            }
        }
        return found;
    }

    // Whether the process exists and is not a zombie (dead, waiting to be reaped by whoever adopted it).
    static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public void Dispose() => Directory.Delete(_temporary, recursive: true);
}
