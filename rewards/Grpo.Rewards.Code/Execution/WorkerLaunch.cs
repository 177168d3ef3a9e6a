using System.Diagnostics;
using System.Globalization;
using Grpo.Rewards.Code.Compilation;
using Grpo.Rewards.Code.Worker;

namespace Grpo.Rewards.Code.Execution;

/// <summary>
/// How to start a worker: this very assembly, run by the dotnet host in worker mode with a runtime configuration
/// written next to the workers' folders. The assembly is found wherever the reward is loaded from (a test's output
/// folder, a NuGet user's bin folder), so there is no second executable to ship or locate.
/// </summary>
internal sealed class WorkerLaunch
{
    readonly string _host;
    readonly string _workerAssembly;
    readonly string _runtimeConfig;
    readonly long _memoryLimitBytes;

    /// <summary>Prepares to start workers whose folders live under <paramref name="poolDirectory"/>.</summary>
    public WorkerLaunch(string poolDirectory, long memoryLimitBytes)
    {
        PoolDirectory = poolDirectory;
        _memoryLimitBytes = memoryLimitBytes;
        _host = FindDotnetHost();
        _workerAssembly = typeof(WorkerHost).Assembly.Location;
        if (string.IsNullOrEmpty(_workerAssembly))
            throw new InvalidOperationException("The code reward runs its own assembly as a worker process, so it cannot run from a single-file app. Publish without PublishSingleFile.");
        _runtimeConfig = Path.Combine(poolDirectory, "worker.runtimeconfig.json");
        File.WriteAllText(_runtimeConfig, $$"""
            { "runtimeOptions": { "tfm": "net{{Environment.Version.Major}}.{{Environment.Version.Minor}}",
              "framework": { "name": "Microsoft.NETCore.App", "version": "{{Environment.Version}}" } } }
            """);
    }

    /// <summary>The folder that holds the runtime configuration and every worker's own folder.</summary>
    public string PoolDirectory { get; }

    /// <summary>Start information for a worker whose working and temporary folder is <paramref name="workerDirectory"/>.</summary>
    public ProcessStartInfo StartInfo(string workerDirectory)
    {
        var start = new ProcessStartInfo(_host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workerDirectory,
        };
        foreach (var argument in new[] { "exec", "--runtimeconfig", _runtimeConfig, _workerAssembly, WorkerHost.WorkerArgument, AllowedReferences.CompareNetObjectsPath })
            start.ArgumentList.Add(argument);

        var environment = start.Environment;
        environment["DOTNET_GCHeapHardLimit"] = "0x" + _memoryLimitBytes.ToString("X", CultureInfo.InvariantCulture);
        environment["DOTNET_gcServer"] = "0";
        environment["DOTNET_gcConcurrent"] = "0";
        // No diagnostic IPC socket, no crash dump: a worker writes nothing outside its folder.
        environment["DOTNET_EnableDiagnostics"] = "0";
        environment["DOTNET_DbgEnableMiniDump"] = "0";
        foreach (var variable in new[] { "TMPDIR", "TMP", "TEMP", "HOME" })
            environment[variable] = workerDirectory;
        // The parent's start-up hooks and extra dependencies (a test host, a profiler) must not load into the sandbox.
        environment.Remove("DOTNET_STARTUP_HOOKS");
        environment.Remove("DOTNET_ADDITIONAL_DEPS");
        return start;
    }

    static string FindDotnetHost()
    {
        var executable = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } fromSdk && File.Exists(fromSdk))
            return fromSdk;
        if (Environment.ProcessPath is { } current && Path.GetFileName(current) == executable)
            return current;
        // The running runtime lives in <dotnet root>/shared/Microsoft.NETCore.App/<version>/.
        var runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var candidate = Path.GetFullPath(Path.Combine(runtimeDirectory, "..", "..", "..", executable));
        return File.Exists(candidate) ? candidate : throw new InvalidOperationException(
            $"The code reward starts workers with the dotnet host and could not find it (looked for {candidate}). Set DOTNET_HOST_PATH to the dotnet executable.");
    }
}
