// Lists every [DllImport] entry point of a managed assembly (TorchSharp.dll) as tab-separated lines:
// library, entry point, return type, return marshalling (or "-"), parameter count, declaring type.
// Used by check-native-exports.sh to compare the managed side with LibTorchSharp's exported C functions.
open System.Reflection
open System.Runtime.InteropServices

let asm = Assembly.LoadFrom(fsi.CommandLineArgs.[1])
let flags = BindingFlags.Public ||| BindingFlags.NonPublic ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly
let types =
    try asm.GetTypes()
    with :? ReflectionTypeLoadException as e -> e.Types |> Array.filter (fun t -> not (isNull t))

for t in types do
    for m in t.GetMethods(flags) do
        let import = m.GetCustomAttribute<DllImportAttribute>()
        if not (isNull import) then
            let entry = if isNull import.EntryPoint then m.Name else import.EntryPoint
            let marshal = m.ReturnParameter.GetCustomAttribute<MarshalAsAttribute>()
            let marshalText = if isNull marshal then "-" else string marshal.Value
            printfn "%s\t%s\t%s\t%s\t%d\t%s" import.Value entry m.ReturnType.Name marshalText (m.GetParameters().Length) t.FullName
