namespace Grpo.Cli;

/// <summary>
/// Where a verify command writes its rows: standard output, or a file that appears whole or not at all. The file's
/// folder is checked, and a temporary file is created beside the target, before any work starts; the rows go to
/// the temporary file, which replaces the target only once every row is written (<see cref="CommitAsync"/>). A run
/// that fails or is cancelled leaves no half-written file, and an existing file as it was.
/// </summary>
sealed class AtomicOutput : IAsyncDisposable
{
    readonly string? _target;
    readonly string? _temporary;
    bool _committed;

    AtomicOutput(TextWriter writer, string? target, string? temporary)
    {
        Writer = writer;
        _target = target;
        _temporary = temporary;
    }

    /// <summary>Where the rows go until <see cref="CommitAsync"/>.</summary>
    public TextWriter Writer { get; }

    /// <summary>
    /// Opens <paramref name="path"/> for writing, or <paramref name="standardOutput"/> when it is null.
    /// </summary>
    /// <exception cref="IOException">The path is a folder, or its folder is missing or cannot be written; the message says which.</exception>
    public static AtomicOutput Open(FileInfo? path, TextWriter standardOutput)
    {
        if (path is null)
            return new AtomicOutput(standardOutput, null, null);
        if (Directory.Exists(path.FullName))
            throw new IOException($"--output '{path.FullName}' is a folder. Give the path of a file to write.");
        var folder = path.Directory!;
        if (!folder.Exists)
            throw new DirectoryNotFoundException($"the output folder '{folder.FullName}' does not exist. Create it or choose another --output path.");
        var temporary = Path.Combine(folder.FullName, $".{path.Name}.{Environment.ProcessId}.tmp");
        try
        {
            return new AtomicOutput(new StreamWriter(temporary), path.FullName, temporary);
        }
        catch (UnauthorizedAccessException)
        {
            throw new IOException($"cannot write to the output folder '{folder.FullName}'. Choose another --output path.");
        }
    }

    /// <summary>Flushes the rows and, for a file, puts it in place of the target.</summary>
    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        await Writer.FlushAsync(cancellationToken);
        if (_target is null)
            return;
        await Writer.DisposeAsync();
        File.Move(_temporary!, _target, overwrite: true);
        _committed = true;
    }

    /// <summary>Closes the file; without a commit, deletes it and leaves the target untouched.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_target is null)
            return;
        await Writer.DisposeAsync();
        if (!_committed)
            File.Delete(_temporary!);
    }
}
