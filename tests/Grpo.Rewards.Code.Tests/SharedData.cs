namespace Grpo.Rewards.Code.Tests;

/// <summary>Finds the read-only data folder that sits beside the repository (../shared); only opt-in tests use it.</summary>
public static class SharedData
{
    public static string Find(string relativePath)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", relativePath);
            if (File.Exists(Path.Combine(dir.FullName, "Grpo.sln")) && File.Exists(candidate))
                return Path.GetFullPath(candidate);
        }
        throw new FileNotFoundException($"This opt-in test reads ../shared/{relativePath} beside the repository; it is not there.");
    }
}
