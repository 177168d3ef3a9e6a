using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.Loader;
using KellermanSoftware.CompareNetObjects;

namespace Grpo.Rewards.Code.Worker;

/// <summary>
/// The worker process: reads programs from standard input, runs each in its own collectible load context, and
/// writes one reply per test method to standard output. Untrusted code runs only here; the pool that started the
/// process enforces the wall-clock limit by killing it, and the worker never outlives the pool: it exits when its
/// standard input closes (<see cref="ControlPipe"/>) and when a program overruns its limit (<see cref="WorkerWatchdog"/>).
/// </summary>
internal static class WorkerHost
{
    /// <summary>The first command-line argument that starts this assembly as a worker.</summary>
    public const string WorkerArgument = "--grpo-code-worker";

    const int MaxMessageChars = 500;

    /// <summary>The assembly's entry point; it only ever runs as a worker that the pool starts.</summary>
    /// <param name="args">The worker flag, then the path of the CompareNetObjects assembly, loaded from there if the runtime does not find it beside this one.</param>
    static int Main(string[] args)
    {
        if (args is not [WorkerArgument, var compareNetObjectsPath])
        {
            Console.Error.WriteLine("Grpo.Rewards.Code is a library. Its code reward starts this assembly as a sandboxed worker; there is nothing to run by hand.");
            return 2;
        }
        ProcessLimits.Apply();
        ShareCompareNetObjects(compareNetObjectsPath);
        var requests = new ControlPipe(Console.OpenStandardInput());
        var watchdog = new WorkerWatchdog();
        using var output = Console.OpenStandardOutput();

        // From here on the console belongs to the programs: their output is counted and dropped, and they read nothing.
        var console = new OutputLimitWriter();
        Console.SetOut(console);
        Console.SetError(console);
        Console.SetIn(TextReader.Null);
        Trace.Listeners.Clear();
        Trace.Listeners.Add(new AssertFailureListener());

        WorkerProtocol.WriteFrame(output, WorkerReply.Ready.ToBytes());
        // The control pipe ends the process when the parent goes away, so this loop ends only by retiring.
        while (true)
        {
            var request = WorkerRequest.FromBytes(requests.Take());
            watchdog.Arm(request.TimeLimit);
            var retiring = Run(request, console, reply => WorkerProtocol.WriteFrame(output, reply.ToBytes()));
            watchdog.Disarm();
            if (retiring)
                return 0;
        }
    }

    // Runs the request's methods from FirstMethod on; returns whether the worker should exit afterwards.
    static bool Run(WorkerRequest request, OutputLimitWriter console, Action<WorkerReply> reply)
    {
        // Each program gets its own collectible context, so its types and statics go when it is done. Framework
        // assemblies and CompareNetObjects come from the default context, already compiled by the JIT.
        var context = new AssemblyLoadContext("grpo-program", isCollectible: true);
        try
        {
            var type = context.LoadFromStream(new MemoryStream(request.Image)).GetType(request.EntryType, throwOnError: true)!;
            for (int i = request.FirstMethod; i < request.Methods.Count; i++)
            {
                var (failure, retiring) = RunMethod(type, request.Methods[i], console, request.OutputLimitChars);
                reply(new WorkerReply(request.Nonce, i, failure is null, failure ?? "", retiring));
                if (retiring)
                    return true;
            }
            return false;
        }
        catch (Exception e) when (e is BadImageFormatException or TypeLoadException or FileLoadException)
        {
            reply(new WorkerReply(request.Nonce, request.FirstMethod, false, "could not load the program: " + Describe(e), false));
            return false;
        }
        finally
        {
            context.Unload();
        }
    }

    // CompareNetObjects is loaded once, into the default context, and warmed up: loading and JIT-compiling it for
    // every program costs a quarter of a second. Programs reach only its comparison API (ApiPolicy denies its
    // static helpers and settings), so one program cannot change how the next one's comparisons come out.
    static void ShareCompareNetObjects(string path)
    {
        AssemblyLoadContext.Default.Resolving += (context, name) =>
            name.Name == Path.GetFileNameWithoutExtension(path) ? context.LoadFromAssemblyPath(path) : null;
        if (!new CompareLogic().Compare(new List<List<int>> { new() { 1 } }, new List<List<int>> { new() { 1 } }).AreEqual)
            throw new InvalidOperationException("CompareNetObjects failed its warm-up comparison.");
    }

    static (string? Failure, bool Retiring) RunMethod(Type type, string name, OutputLimitWriter console, int outputLimit)
    {
        console.Reset(outputLimit);
        // A program may have changed the culture; the next one starts from the invariant culture, as the first did.
        CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.InvariantCulture;
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.DefaultThreadCurrentUICulture = null;
        try
        {
            var method = type.GetMethod(name, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                ?? throw new MissingMethodException(type.FullName, name);
            object?[]? arguments = method.GetParameters().Length == 1 ? [Array.Empty<string>()] : null;
            method.Invoke(null, BindingFlags.DoNotWrapExceptions, binder: null, arguments, culture: null);
            return console.Exceeded ? ($"output limit exceeded ({outputLimit} characters)", false) : (null, false);
        }
        catch (Exception e)
        {
            if (console.Exceeded)
                return ($"output limit exceeded ({outputLimit} characters)", false);
            // After running out of heap or stack the worker's own state is suspect; a fresh one takes over.
            var root = e is TypeInitializationException { InnerException: { } inner } ? inner : e;
            return (Describe(e), root is OutOfMemoryException or InsufficientExecutionStackException);
        }
    }

    static string Describe(Exception e)
    {
        if (e is TypeInitializationException { InnerException: { } inner })
            return $"static constructor of {((TypeInitializationException)e).TypeName} threw {Describe(inner)}";
        var text = $"{e.GetType().Name}: {e.Message}";
        return text.Length <= MaxMessageChars ? text : text[..MaxMessageChars] + "...";
    }
}
