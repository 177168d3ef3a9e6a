using System.Reflection;
using System.Runtime.Loader;

namespace Grpo.Rewards.Code.Worker;

/// <summary>
/// A collectible load context for one program. It loads its own copy of CompareNetObjects too, so that static
/// state one program leaves in that library cannot change how the next program's comparisons come out. Framework
/// assemblies come from the default context.
/// </summary>
internal sealed class ProgramLoadContext(string compareNetObjectsPath) : AssemblyLoadContext("grpo-program", isCollectible: true)
{
    protected override Assembly? Load(AssemblyName assemblyName) =>
        assemblyName.Name == Path.GetFileNameWithoutExtension(compareNetObjectsPath) ? LoadFromAssemblyPath(compareNetObjectsPath) : null;
}
