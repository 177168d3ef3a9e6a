namespace Grpo.Rewards.Code.Tests;

/// <summary>Code that binds to a denied API is rejected before it runs, whatever it is called in the text.</summary>
[Collection(VerifierCollection.Name)]
public sealed class ApiPolicyTests(VerifierFixture fixture)
{
    // Bodies for MBCSP/3 (IsNotPrime): each does something forbidden, then gives the right answer, so only the
    // check can fail it.
    const string Answer = "return n > 1 && Enumerable.Range(2, n - 2).Any(i => n % i == 0); }";

    public static TheoryData<string, string> Forbidden => new()
    {
        { "System.IO.File.ReadAllText(\"/etc/passwd\");", "System.IO.File (file system)" },
        { "var f = new System.IO.FileInfo(\"x\");", "System.IO.FileInfo (file system)" },
        { "System.Diagnostics.Process.Start(\"sh\");", "compile error" }, // Process is not among the references
        { "Environment.Exit(0);", "System.Environment.Exit (process control and environment)" },
        { "Environment.FailFast(\"x\");", "System.Environment.FailFast" },
        { "var v = Environment.GetEnvironmentVariable(\"HOME\");", "System.Environment.GetEnvironmentVariable" },
        { "var m = typeof(string).GetMethod(\"Trim\", Type.EmptyTypes);", "System.Reflection.MethodInfo (reflection)" },
        { "var t = \"\".GetType().Assembly;", "System.Reflection.Assembly (reflection)" },
        { "var o = Activator.CreateInstance(typeof(object));", "System.Activator (reflection)" },
        { "Func<int> f = () => 1; f.DynamicInvoke();", "System.Delegate.DynamicInvoke (reflection)" },
        { "var p = System.Runtime.InteropServices.Marshal.AllocHGlobal(10);", "System.Runtime.InteropServices.Marshal" },
        { "new System.Threading.Thread(() => { }).Start();", "System.Threading.Thread (threads)" },
        { "System.Threading.Tasks.Task.Run(() => { });", "System.Threading.Tasks.Task (threads)" },
        { "System.Threading.ThreadPool.QueueUserWorkItem(_ => { });", "System.Threading.ThreadPool (threads)" },
        { "Console.SetOut(new System.IO.StringWriter());", "System.Console.SetOut (console redirection)" },
        { "var s = Console.OpenStandardOutput();", "System.Console.OpenStandardOutput" },
        { "AppDomain.CurrentDomain.ProcessExit += (_, _) => { };", "System.AppDomain (runtime control)" },
        { "GC.Collect();", "System.GC (runtime control)" },
        { "unsafe { int x = 1; int* p = &x; }", "compile error" },
        // These close the prompt's method early, declare something, and open a helper that the answer completes.
        { "return false; } [System.Runtime.InteropServices.DllImport(\"libc\")] static extern int getpid(); static bool M(int n) {", "extern (native) method" },
        { "return false; } static extern int Native(); static bool M(int n) {", "extern (native) method" },
        { "return false; } ~Program() { } static bool M(int n) {", "finalizer" },
        { "var h = new System.Net.Http.HttpClient();", "compile error" },
        { "System.Runtime.CompilerServices.Unsafe.SizeOf<int>();", "System.Runtime.CompilerServices.Unsafe" },
        // CompareNetObjects is shared by every program a worker runs; its static settings and helpers are off limits.
        { "var d = KellermanSoftware.CompareNetObjects.FileHelper.GetCurrentDirectory();", "KellermanSoftware.CompareNetObjects.FileHelper (comparison library internals)" },
        { "var c = KellermanSoftware.CompareNetObjects.CompareExtensions.Config;", "KellermanSoftware.CompareNetObjects.CompareExtensions" },
    };

    [Theory]
    [MemberData(nameof(Forbidden))]
    public async Task Forbidden_api_is_rejected_before_running(string statement, string reason)
    {
        var problem = MbxpProblem.Get("MBCSP/3");
        var result = await fixture.Checked.VerifyMbxpAsync(problem.Prompt, "\n" + statement + "\n" + Answer, problem.Test);
        Assert.True(result.Score == 0.0, $"{statement}: {result.Reason}");
        Assert.False(result.Compiled);
        Assert.Contains(reason, result.Reason);
    }

    [Theory]
    [InlineData("using (var r = new System.IO.StringReader(\"a\\nb\")) { r.ReadLine(); }")]
    [InlineData("using (var m = new System.IO.MemoryStream()) { m.WriteByte(1); }")]
    [InlineData("var sb = new StringBuilder(); sb.Append(n); Console.WriteLine(sb.ToString());")]
    [InlineData("var w = new System.IO.StringWriter(); w.Write(Environment.NewLine); var sw = System.Diagnostics.Stopwatch.StartNew();")]
    [InlineData("var same = new CompareLogic(new ComparisonConfig { MaxDifferences = 2 }).Compare(1, 1).AreEqual;")]
    [InlineData("System.Diagnostics.Debug.Assert(n >= 0); var big = System.Numerics.BigInteger.Pow(2, 100); var name = typeof(int).Name;")]
    public async Task In_memory_and_everyday_apis_are_allowed(string statement)
    {
        var problem = MbxpProblem.Get("MBCSP/3");
        var result = await fixture.Checked.VerifyMbxpAsync(problem.Prompt, "\n" + statement + "\n" + Answer, problem.Test);
        Assert.True(result.Score == 1.0, $"{statement}: {result.Reason}");
    }

    [Theory]
    // No "File" in the method body: "using static" brings File's members in under their own names.
    [InlineData("using static System.IO.File;", "var ok = Exists(\"/etc/passwd\");", "System.IO.File (file system)")]
    [InlineData("using Box = System.IO.Directory;", "var ok = Box.Exists(\"/etc\");", "System.IO.Directory (file system)")]
    [InlineData("using E = System.Environment;", "E.Exit(0);", "System.Environment.Exit")]
    public async Task Checks_follow_the_binding_not_the_text(string directive, string statement, string reason)
    {
        var problem = MbxpProblem.Get("MBCSP/3");
        var result = await fixture.Checked.VerifyMbxpAsync(directive + "\n" + problem.Prompt, "\n" + statement + "\n" + Answer, problem.Test);
        Assert.Equal(0.0, result.Score);
        Assert.Contains(reason, result.Reason);
    }
}
