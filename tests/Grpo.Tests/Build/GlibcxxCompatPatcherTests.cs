using System.Diagnostics;
using Grpo.Build;

namespace Grpo.Tests.Build;

/// <summary>The build step that makes TorchSharp's native library load on older Linux, tested on the real file.</summary>
public class GlibcxxCompatPatcherTests
{
    static readonly string Unpatched = Path.Combine(AppContext.BaseDirectory, "Fixtures", "libLibTorchSharp.unpatched.so");
    static readonly string Libc10 = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libc10.so");

    [Fact]
    public void TheShippedLibraryNeedsTheVersionForTheMarkerSymbolOnly()
    {
        var elf = File.ReadAllBytes(Unpatched);
        var need = Assert.Single(GlibcxxCompatPatcher.ReadVersionNeeds(elf, Unpatched), n => n.Name == "GLIBCXX_3.4.32");

        Assert.Equal("libstdc++.so.6", need.File);
        Assert.Equal(0, need.Flags);
        Assert.Equal(["_ZSt21ios_base_library_initv"], GlibcxxCompatPatcher.SymbolsWithVersion(elf, Unpatched, need.Index));
    }

    [Fact]
    public void PatchingSetsTheWeakFlagAndChangesNothingElse()
    {
        var original = File.ReadAllBytes(Unpatched);
        var patched = GlibcxxCompatPatcher.PatchBytes(original, Unpatched)!;

        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToArray();
        var need = GlibcxxCompatPatcher.ReadVersionNeeds(original, Unpatched).Single(n => n.Name == "GLIBCXX_3.4.32");
        Assert.Equal([need.FlagsOffset], changed.Select(i => (long)i));
        Assert.Equal(0x2, patched[need.FlagsOffset]); // VER_FLG_WEAK

        // Every other version requirement reads back exactly as before.
        var before = GlibcxxCompatPatcher.ReadVersionNeeds(original, Unpatched).Select(n => (n.File, n.Name, n.Index, n.Name == "GLIBCXX_3.4.32" ? 2 : n.Flags));
        var after = GlibcxxCompatPatcher.ReadVersionNeeds(patched, Unpatched).Select(n => (n.File, n.Name, n.Index, (int)n.Flags));
        Assert.Equal(before.Select(b => (b.File, b.Name, b.Index, (int)b.Item4)), after);
    }

    [Fact]
    public void PatchingIsIdempotent()
    {
        var once = GlibcxxCompatPatcher.PatchBytes(File.ReadAllBytes(Unpatched), Unpatched)!;
        Assert.Null(GlibcxxCompatPatcher.PatchBytes(once, Unpatched));
    }

    [Fact]
    public void ReadelfAgreesThatThePatchedRequirementIsWeak()
    {
        // An independent reader of the same table, where binutils is installed.
        var dir = Directory.CreateTempSubdirectory("grpo-elf-");
        var path = Path.Combine(dir.FullName, "libLibTorchSharp.so");
        File.Copy(Unpatched, path);
        GlibcxxCompatPatcher.Patch(path);

        string? listing = RunReadelf(path);
        if (listing is null) return; // no binutils here; the byte-level tests above still hold
        var line = listing.Split('\n').Single(l => l.Contains("Name: GLIBCXX_3.4.32"));
        Assert.Contains("Flags: WEAK", line);
        Assert.Equal(RunReadelf(Unpatched)!.Split('\n').Count(l => l.Contains("Flags: none")) - 1,
            listing.Split('\n').Count(l => l.Contains("Flags: none")));
        dir.Delete(recursive: true);
    }

    [Fact]
    public void PatchingAFileReplacesItWithoutWritingThroughHardLinks()
    {
        // The build output may hard-link the NuGet cache's copy; the cache must never change.
        var dir = Directory.CreateTempSubdirectory("grpo-elf-");
        var cacheCopy = Path.Combine(dir.FullName, "cache.so");
        var output = Path.Combine(dir.FullName, "libLibTorchSharp.so");
        File.Copy(Unpatched, cacheCopy);
        using (var ln = Process.Start("ln", [cacheCopy, output]))
        {
            ln.WaitForExit();
            Assert.Equal(0, ln.ExitCode);
        }
        var time = File.GetLastWriteTimeUtc(output);

        Assert.Equal(PatchOutcome.Patched, GlibcxxCompatPatcher.Patch(output));
        Assert.Equal(PatchOutcome.AlreadyPatched, GlibcxxCompatPatcher.Patch(output));

        Assert.Equal(File.ReadAllBytes(Unpatched), File.ReadAllBytes(cacheCopy));
        Assert.NotEqual(File.ReadAllBytes(Unpatched), File.ReadAllBytes(output));
        Assert.Equal(time, File.GetLastWriteTimeUtc(output)); // incremental builds keep treating it as up to date
        dir.Delete(recursive: true);
    }

    [Fact]
    public void AFileThatIsNotElfGetsAClearError()
    {
        var error = Assert.Throws<InvalidDataException>(() => GlibcxxCompatPatcher.PatchBytes("not a library"u8.ToArray(), "notes.txt"));
        Assert.Contains("notes.txt", error.Message);
        Assert.Contains("not an ELF file", error.Message);
    }

    [Fact]
    public void ALibraryWithoutTheRequirementGetsAClearError()
    {
        var error = Assert.Throws<InvalidDataException>(() => GlibcxxCompatPatcher.PatchBytes(File.ReadAllBytes(Libc10), "libc10.so"));
        Assert.Contains("does not require GLIBCXX_3.4.32", error.Message);
    }

    [Fact]
    public void ATruncatedLibraryGetsAClearError()
    {
        var truncated = File.ReadAllBytes(Unpatched)[..4096];
        var error = Assert.Throws<InvalidDataException>(() => GlibcxxCompatPatcher.PatchBytes(truncated, "cut.so"));
        Assert.Contains("truncated or damaged", error.Message);
    }

    static string? RunReadelf(string path)
    {
        try
        {
            using var readelf = Process.Start(new ProcessStartInfo("readelf", ["-V", "--wide", path]) { RedirectStandardOutput = true })!;
            var text = readelf.StandardOutput.ReadToEnd();
            readelf.WaitForExit();
            return readelf.ExitCode == 0 ? text : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
