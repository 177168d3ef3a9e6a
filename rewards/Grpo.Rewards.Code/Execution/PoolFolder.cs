using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Grpo.Rewards.Code.Execution;

/// <summary>
/// A worker pool's temporary folder, <c>grpo-code-*</c> under the temporary path, locked by its owner for as long
/// as the pool lives. A pool whose process was killed cannot delete its folder, so each new pool first removes
/// every <c>grpo-code-*</c> folder whose owner is gone, and leaves those of live pools (any process's) alone.
/// </summary>
/// <remarks>
/// The owner holds <c>owner.lock</c> open with <see cref="FileShare.None"/> (an exclusive flock on Unix), which the
/// kernel releases when the process ends however it ends; the file records the owner's process id. A folder is
/// removed only when its lock is free and no process with that id is running: file locking can be switched off
/// (DOTNET_SYSTEM_IO_DISABLEFILELOCKING), and then the process id alone protects a live pool.
/// </remarks>
internal sealed class PoolFolder : IDisposable
{
    const string Prefix = "grpo-code-";
    const string OwnerFile = "owner.lock";
    // A folder without an owner file is a pool between creating its folder and locking it, or one from a version
    // without the lock; only the second kind gets this old.
    static readonly TimeSpan UnlockedFolderAge = TimeSpan.FromMinutes(1);

    readonly FileStream _owner;

    PoolFolder(string path, FileStream owner)
    {
        Path = path;
        _owner = owner;
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>Removes the folders of dead pools under <paramref name="root"/>, then creates and locks a new one there.</summary>
    public static PoolFolder Create(string root)
    {
        RemoveAbandoned(root);
        var path = System.IO.Path.Combine(root, Prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)));
        // Only this user may look inside: the workers, which run untrusted code, work and keep their temporary files there.
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(path);
        else
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var owner = new FileStream(System.IO.Path.Combine(path, OwnerFile), FileMode.CreateNew, FileAccess.Write, FileShare.None);
        owner.Write(System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture)));
        owner.Flush();
        return new PoolFolder(path, owner);
    }

    // Deletes every grpo-code-* folder under root whose owning process is gone.
    static void RemoveAbandoned(string root)
    {
        if (!Directory.Exists(root))
            return;
        foreach (var folder in Directory.EnumerateDirectories(root, Prefix + "*"))
        {
            // A link is never a pool's folder (pools create real folders): whatever it points at is not ours to delete.
            if (new DirectoryInfo(folder).LinkTarget is not null || IsInUse(folder))
                continue;
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another pool is removing it too, or it belongs to another user: not ours to insist on.
            }
        }
    }

    static bool IsInUse(string folder)
    {
        try
        {
            using var owner = new FileStream(System.IO.Path.Combine(folder, OwnerFile), FileMode.Open, FileAccess.Read, FileShare.None);
            using var reader = new StreamReader(owner);
            return int.TryParse(reader.ReadToEnd(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && IsRunning(pid);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            try
            {
                return DateTime.UtcNow - Directory.GetLastWriteTimeUtc(folder) < UnlockedFolderAge;
            }
            catch (Exception inner) when (inner is IOException or UnauthorizedAccessException)
            {
                return true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true; // locked by its live owner, or not ours to open
        }
    }

    static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Releases the lock and deletes the folder with everything the workers left in it.</summary>
    public void Dispose()
    {
        _owner.Dispose();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A worker still finishing keeps its folder open; the next pool removes the rest.
        }
    }
}
