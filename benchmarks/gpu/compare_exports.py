"""Compares LibTorchSharp's exported C functions (EXPORT_API(ret) name(args) and CRC32C_API ret name(args) in
src/Native) with the managed TorchSharp.dll's [DllImport("LibTorchSharp")] declarations (list-dllimports.fsx output)
and, when given, with the names the shipped libLibTorchSharp.so 0.107.0 exports (nm -D), which pins the source commit.

A DllImport with no export fails only when it is first called (EntryPointNotFoundException); a return type that
differs fails silently (a C++ bool read as a 4-byte int picks up garbage in the upper bytes). Both are reported.
Exit status 1 when a return value is read with the wrong width or kind, or when the shipped library exports a name
this source lacks (then the source is not the release's). DllImports with no export, void/non-void differences and
parameter counts are listed for the reader: the shipped 0.107.0 binary has the same ones, so they are TorchSharp's own
and behave on a rebuilt library exactly as on the shipped one.

Usage: python3 compare_exports.py NATIVE_SRC_DIR DLLIMPORTS_TSV [SHIPPED_SO_NAMES]
"""
import pathlib
import re
import sys

# Width in bytes of each C return type and of each managed return type; pointers and handles are "ptr".
NATIVE_WIDTH = {
    "void": 0, "bool": 1, "char": 1, "int8_t": 1, "signed char": 1, "uint8_t": 1, "unsigned char": 1,
    "int16_t": 2, "short": 2, "int": 4, "int32_t": 4, "unsigned int": 4, "uint32_t": 4, "float": 4,
    "int64_t": 8, "long": 8, "long long": 8, "uint64_t": 8, "size_t": 8, "unsigned long": 8, "double": 8,
}
MANAGED_WIDTH = {
    "Void": 0, "Boolean": 1, "Byte": 1, "SByte": 1, "Int16": 2, "UInt16": 2, "Int32": 4, "UInt32": 4,
    "Single": 4, "Int64": 8, "UInt64": 8, "Double": 8,
    "IntPtr": "ptr", "UIntPtr": "ptr", "String": "ptr", "HType": "ptr", "NodeUnmanagedPtr": "ptr",
}
FLOATING = {"float", "double", "Single", "Double"}


def classify(native: str, managed: str, marshal: str):
    """None when the return types have the same width and kind, else (severity, text): "warning" where one side
    is void (the value is ignored or dropped), "error" where a value is read with the wrong width or kind."""
    base = native.replace("const ", "").strip()
    n = NATIVE_WIDTH.get(base, "ptr")
    m = MANAGED_WIDTH.get(managed, "ptr" if managed.endswith("Handle") else "?")
    if managed == "Boolean" and marshal != "U1":
        m = 4  # a DllImport bool without [return: MarshalAs(U1)] is a 4-byte Win32 BOOL
    if n == m and (base in FLOATING) == (managed in FLOATING):
        return None
    if n == 0:
        return "warning", f"native void, managed {managed}: the managed side must not use the value (undefined register)"
    if m == 0:
        return "warning", f"native {native}, managed Void: the returned value is dropped (a leak if it is a new object)"
    return "error", f"native {native} ({n} bytes), managed {managed}{'' if marshal == '-' else ' as ' + marshal} ({m} bytes)"

def native_exports(root: pathlib.Path) -> dict:
    """name -> (C return type, parameter count) for every EXPORT_API / CRC32C_API declaration or definition."""
    exports = {}
    pattern = re.compile(r"(?:EXPORT_API\(((?:[^()]|\([^()]*\))*)\)|CRC32C_API\s+([\w\s*]+?))\s*(\w+)\s*\(")
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".h", ".cpp", ".c"):
            continue
        text = path.read_text(errors="replace")
        text = re.sub(r"#define\s+(EXPORT_API|CRC32C_API).*", "", text)
        for match in pattern.finditer(text):
            depth, i = 1, match.end()
            while depth and i < len(text):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            args = text[match.end():i - 1].strip()
            count = 0 if args in ("", "void") else top_level_commas(args) + 1
            ret = match.group(1) if match.group(1) is not None else match.group(2)
            exports.setdefault(match.group(3), (" ".join(ret.split()), count))
    return exports


def top_level_commas(args: str) -> int:
    depth, commas = 0, 0
    for ch in args:
        if ch in "(<[":
            depth += 1
        elif ch in ")>]":
            depth -= 1
        elif ch == "," and depth == 0:
            commas += 1
    return commas


def main() -> int:
    exports = native_exports(pathlib.Path(sys.argv[1]))
    imports = []
    for line in pathlib.Path(sys.argv[2]).read_text().splitlines():
        library, entry, managed, marshal, count, _ = line.split("\t")
        if library == "LibTorchSharp":
            imports.append((entry, managed, marshal, int(count)))

    missing, findings, counts = [], [], []
    for entry, managed, marshal, count in imports:
        if entry not in exports:
            missing.append(entry)
            continue
        native, native_count = exports[entry]
        finding = classify(native, managed, marshal)
        if finding:
            findings.append((finding[0], f"{entry}: {finding[1]}"))
        if native_count != count:
            counts.append(f"{entry}: native {native_count} parameters, managed {count}")

    print(f"DllImport(\"LibTorchSharp\") entry points: {len(imports)} ({len(set(e for e, *_ in imports))} distinct)")
    print(f"EXPORT_API functions in the native source: {len(exports)}")
    print(f"exports no DllImport uses: {len(set(exports) - set(e for e, *_ in imports))}")
    print(f"DllImports with no export: {len(missing)}")
    for name in missing:
        print(f"  MISSING {name}")
    print(f"return types that differ: {len(findings)} "
          f"({sum(1 for severity, _ in findings if severity == 'error')} errors)")
    for severity, text in sorted(findings):
        print(f"  RETURN {severity}: {text}")
    print(f"parameter counts that differ (warning): {len(counts)}")
    for text in counts:
        print(f"  PARAMS {text}")
    failed = any(severity == "error" for severity, _ in findings)
    if len(sys.argv) > 3:
        shipped = set(pathlib.Path(sys.argv[3]).read_text().split())
        source_only, shipped_only = sorted(set(exports) - shipped), sorted(shipped - set(exports))
        print(f"shipped libLibTorchSharp.so exports: {len(shipped)}; in the source only: {len(source_only)}, "
              f"in the shipped library only: {len(shipped_only)}")
        for name in source_only + shipped_only:
            print(f"  SHIPPED-DIFF {name}")
        # A name the shipped library exports but this source lacks means the source is not the release's.
        failed = failed or bool(shipped_only)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
