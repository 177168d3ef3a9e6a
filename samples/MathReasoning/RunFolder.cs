namespace Grpo.Samples.MathReasoning;

/// <summary>
/// The output folder of a run. A run writes into "FOLDER.partial" and renames it to FOLDER when it has finished, so
/// a folder under the asked-for name is always a complete run, and a crashed or cancelled one is plainly marked.
/// </summary>
public sealed class RunFolder
{
    RunFolder(string final)
    {
        Final = final;
        Working = final + ".partial";
    }

    /// <summary>Where the finished run will be.</summary>
    public string Final { get; }

    /// <summary>Where the run writes while it is going.</summary>
    public string Working { get; }

    /// <summary>The default folder: runs/NAME-yyyyMMdd-HHmmss under the current directory.</summary>
    public static string DefaultPath(string name) => Path.Combine("runs", $"{name}-{DateTime.Now:yyyyMMdd-HHmmss}");

    /// <summary>
    /// Claims <paramref name="path"/> for a new run, creating its working folder. Refuses a folder that already holds
    /// anything (an earlier run, finished or not), so no run is ever overwritten or mixed with another.
    /// </summary>
    /// <exception cref="IOException">The folder, or its working folder, is already there and not empty.</exception>
    public static RunFolder Claim(string path)
    {
        var folder = new RunFolder(Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar));
        foreach (var existing in new[] { folder.Final, folder.Working })
            if (Directory.Exists(existing) && Directory.EnumerateFileSystemEntries(existing).Any())
                throw new IOException(
                    $"Output folder '{existing}' already holds a run. Choose another --output, or delete that folder to replace it.");
        Directory.CreateDirectory(folder.Working);
        return folder;
    }

    /// <summary>Marks the run complete: the working folder becomes the final one.</summary>
    public void Complete()
    {
        if (Directory.Exists(Final)) Directory.Delete(Final);   // empty, or Claim would have refused it
        Directory.Move(Working, Final);
    }
}
