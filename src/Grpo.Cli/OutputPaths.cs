namespace Grpo.Cli;

/// <summary>
/// Checks, before any work starts, that a command can write where its output options point, so that a run is not
/// lost at its end to a missing, misnamed or read-only folder. Nothing is created: a refused start leaves nothing
/// behind.
/// </summary>
static class OutputPaths
{
    /// <summary>
    /// A folder the command will create if needed (with its parents): refused when the path, or a folder on the way
    /// to it, is a file, or when the nearest folder that exists is not writable.
    /// </summary>
    /// <param name="path">The folder.</param>
    /// <param name="option">The option it came from, named in the message.</param>
    public static void CheckFolder(string path, string option)
    {
        var full = Path.GetFullPath(path);
        var existing = full;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
                throw new IOException($"{option} '{full}' cannot be a folder: '{existing}' is a file. Choose another {option} path.");
            existing = Path.GetDirectoryName(existing)!;   // the root always exists, so this ends
        }
        CheckWritable(existing, full, option);
    }

    /// <summary>
    /// A file the command will write: refused when its folder is missing or not writable, or when the path is a folder
    /// or a file that cannot be written. The folder is not created: a mistyped path should not leave folders behind.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="option">The option it came from, named in the message.</param>
    public static void CheckFile(string path, string option)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new IOException($"{option} '{full}' is a folder; give the path of a file to write.");
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{option} '{full}': the folder '{folder}' does not exist. Create it or choose another {option} path.");
        CheckWritable(folder, full, option);
        if (File.Exists(full))
        {
            try
            {
                // Opened for writing without truncating it: the file stays as it is until the command's results are ready.
                using var _ = new FileStream(full, FileMode.Open, FileAccess.Write);
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                throw new IOException($"{option} '{full}' cannot be written ({e.Message}). Choose another {option} path.", e);
            }
        }
    }

    /// <summary>Permissions, read-only mounts and access lists all show in one honest test: creating a file there.</summary>
    static void CheckWritable(string folder, string full, string option)
    {
        var probe = Path.Combine(folder, $".grpo-write-check-{Environment.ProcessId}");
        try
        {
            using var _ = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new IOException($"{option} '{full}' cannot be written: the folder '{folder}' is not writable ({e.Message}). Choose another {option} path.", e);
        }
    }
}
