// Compiled twice: by MSBuild's RoslynCodeTaskFactory as the PatchLibTorchSharp task (see Grpo.targets),
// and into the unit tests. It must stay a single self-contained file with no dependency beyond the BCL
// and Microsoft.Build.Utilities.

#nullable enable

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Grpo.Build
{
    /// <summary>What <see cref="GlibcxxCompatPatcher.Patch"/> did to a file.</summary>
    public enum PatchOutcome
    {
        /// <summary>The GLIBCXX_3.4.32 requirement was made weak; the file was rewritten.</summary>
        Patched,
        /// <summary>The requirement was already weak; the file was left alone.</summary>
        AlreadyPatched,
    }

    /// <summary>
    /// Makes libLibTorchSharp.so (TorchSharp 0.107) load on Linux systems whose libstdc++ predates GCC 13
    /// (Debian 12, Ubuntu 22.04: GLIBCXX_3.4.30).
    /// </summary>
    /// <remarks>
    /// The library was linked against GCC 13's libstdc++ and so records a need for symbol version
    /// GLIBCXX_3.4.32. The only symbol bound to that version is <c>std::ios_base_library_init()</c>, a marker
    /// that GCC 13's &lt;iostream&gt; references and never calls. Marking that one version requirement weak
    /// (VER_FLG_WEAK in the Vernaux entry of .gnu.version_r) tells the dynamic loader to accept its absence;
    /// the symbol itself is never relocated against. Before patching we check that nothing else depends on
    /// that version, so the patch can never hide a real missing symbol.
    /// </remarks>
    public static class GlibcxxCompatPatcher
    {
        /// <summary>The symbol version the library needs and older systems lack.</summary>
        public const string MissingVersion = "GLIBCXX_3.4.32";

        /// <summary>The one symbol allowed to carry <see cref="MissingVersion"/>.</summary>
        public const string MarkerSymbol = "_ZSt21ios_base_library_initv";

        const uint ShtDynsym = 11;
        const uint ShtGnuVerneed = 0x6ffffffe;
        const uint ShtGnuVersym = 0x6fffffff;
        const ushort VerFlgWeak = 0x2;

        /// <summary>One Vernaux entry of .gnu.version_r: a version needed from a shared library.</summary>
        public sealed class VersionNeed
        {
            /// <summary>The library the version is needed from, e.g. libstdc++.so.6.</summary>
            public string File = "";
            /// <summary>The version name, e.g. GLIBCXX_3.4.32.</summary>
            public string Name = "";
            /// <summary>vna_flags; bit 0x2 is VER_FLG_WEAK.</summary>
            public ushort Flags;
            /// <summary>vna_other: the index that .gnu.version uses for symbols of this version.</summary>
            public ushort Index;
            /// <summary>File offset of vna_flags.</summary>
            public long FlagsOffset;
        }

        /// <summary>Reads every version requirement of an ELF64 little-endian shared library.</summary>
        /// <exception cref="InvalidDataException">The bytes are not such a file, or its tables are damaged.</exception>
        public static List<VersionNeed> ReadVersionNeeds(byte[] elf, string fileName)
        {
            var sections = ReadSections(elf, fileName);
            var verneed = sections.FirstOrDefault(s => s.Type == ShtGnuVerneed)
                ?? throw new InvalidDataException($"{fileName}: has no .gnu.version_r section, so it records no symbol versions to relax.");
            if (verneed.Link >= sections.Count)
                throw new InvalidDataException($"{fileName}: .gnu.version_r links to string table {verneed.Link}, which does not exist.");
            var strtab = sections[(int)verneed.Link];

            var needs = new List<VersionNeed>();
            long vn = verneed.Offset;
            for (int guard = 0; guard < 10_000; guard++)
            {
                Check(elf, vn, 16, fileName);
                ushort count = U16(elf, vn + 2);
                string file = Str(elf, strtab, U32(elf, vn + 4), fileName);
                long aux = vn + U32(elf, vn + 8);
                for (int i = 0; i < count; i++)
                {
                    Check(elf, aux, 16, fileName);
                    needs.Add(new VersionNeed
                    {
                        File = file,
                        Flags = U16(elf, aux + 4),
                        Index = U16(elf, aux + 6),
                        Name = Str(elf, strtab, U32(elf, aux + 8), fileName),
                        FlagsOffset = aux + 4,
                    });
                    uint nextAux = U32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(elf, vn + 12);
                if (next == 0) return needs;
                vn += next;
            }
            throw new InvalidDataException($"{fileName}: .gnu.version_r entries form a loop.");
        }

        /// <summary>Names of the dynamic symbols bound to the version with the given index.</summary>
        public static List<string> SymbolsWithVersion(byte[] elf, string fileName, ushort versionIndex)
        {
            var sections = ReadSections(elf, fileName);
            var dynsym = sections.FirstOrDefault(s => s.Type == ShtDynsym)
                ?? throw new InvalidDataException($"{fileName}: has no .dynsym section.");
            var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym)
                ?? throw new InvalidDataException($"{fileName}: has no .gnu.version section.");
            var strtab = sections[(int)dynsym.Link];
            long count = dynsym.Size / 24;
            Check(elf, versym.Offset, count * 2, fileName);
            var names = new List<string>();
            for (long i = 0; i < count; i++)
            {
                if ((U16(elf, versym.Offset + 2 * i) & 0x7fff) != versionIndex) continue;
                long sym = dynsym.Offset + 24 * i;
                Check(elf, sym, 24, fileName);
                names.Add(Str(elf, strtab, U32(elf, sym), fileName));
            }
            return names;
        }

        /// <summary>
        /// Returns a copy of <paramref name="elf"/> whose GLIBCXX_3.4.32 requirement is weak, or null when it
        /// already was. Exactly one byte changes.
        /// </summary>
        /// <exception cref="InvalidDataException">
        /// Not an ELF64 little-endian file, no GLIBCXX_3.4.32 requirement, or symbols other than the marker
        /// depend on it (weakening it would then hide a real incompatibility).
        /// </exception>
        public static byte[]? PatchBytes(byte[] elf, string fileName)
        {
            var need = ReadVersionNeeds(elf, fileName).FirstOrDefault(n => n.Name == MissingVersion)
                ?? throw new InvalidDataException($"{fileName}: does not require {MissingVersion}; there is nothing to patch. Is this the libLibTorchSharp.so of TorchSharp 0.107?");
            if ((need.Flags & VerFlgWeak) != 0) return null;

            var users = SymbolsWithVersion(elf, fileName, need.Index);
            var others = users.Where(s => s != MarkerSymbol).ToList();
            if (others.Count > 0)
                throw new InvalidDataException(
                    $"{fileName}: symbols other than {MarkerSymbol} need {MissingVersion} ({string.Join(", ", others.Take(5))}); " +
                    "making the version weak would hide a real incompatibility. Install a libstdc++ from GCC 13 or newer instead.");

            var patched = (byte[])elf.Clone();
            ushort flags = (ushort)(need.Flags | VerFlgWeak);
            patched[need.FlagsOffset] = (byte)flags;
            patched[need.FlagsOffset + 1] = (byte)(flags >> 8);
            return patched;
        }

        /// <summary>
        /// Patches the file in place, atomically: the new bytes go to a temporary file beside it that then
        /// replaces it. Replacing (rather than writing into) the file also breaks any hard link into the NuGet
        /// cache, which must never change.
        /// </summary>
        public static PatchOutcome Patch(string path)
        {
            var patched = PatchBytes(File.ReadAllBytes(path), path);
            if (patched is null) return PatchOutcome.AlreadyPatched;
            var temp = path + ".grpo-patch.tmp";
            var written = File.GetLastWriteTimeUtc(path);
            File.Copy(path, temp, overwrite: true); // a fresh file with the original's permissions
            File.WriteAllBytes(temp, patched);
            // Same size and time as the package's copy, so incremental builds see it as up to date and leave it.
            File.SetLastWriteTimeUtc(temp, written);
            File.Replace(temp, path, destinationBackupFileName: null);
            return PatchOutcome.Patched;
        }

        /// <summary>True when a libstdc++ of this system already defines GLIBCXX_3.4.32, so no patch is needed.</summary>
        public static bool SystemProvidesMissingVersion()
        {
            string[] candidates =
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/lib64/libstdc++.so.6",
            };
            var libstdcxx = candidates.FirstOrDefault(File.Exists);
            if (libstdcxx is null) return false;
            return Contains(File.ReadAllBytes(libstdcxx), Encoding.ASCII.GetBytes(MissingVersion + "\0"));
        }

        sealed class Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
        }

        static List<Section> ReadSections(byte[] elf, string fileName)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException($"{fileName}: is not an ELF file (no \\x7fELF magic).");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException($"{fileName}: is not a 64-bit little-endian ELF file; only those are supported.");
            long shoff = (long)U64(elf, 0x28);
            ushort shentsize = U16(elf, 0x3a), shnum = U16(elf, 0x3c);
            if (shoff == 0 || shnum == 0 || shentsize < 64)
                throw new InvalidDataException($"{fileName}: has no section headers.");
            var sections = new List<Section>(shnum);
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + (long)i * shentsize;
                Check(elf, h, 64, fileName);
                var s = new Section { Type = U32(elf, h + 4), Offset = (long)U64(elf, h + 24), Size = (long)U64(elf, h + 32), Link = U32(elf, h + 40) };
                if (s.Type != 8 /* SHT_NOBITS */) Check(elf, s.Offset, s.Size, fileName);
                sections.Add(s);
            }
            return sections;
        }

        // Kept to netstandard2.0 APIs: RoslynCodeTaskFactory compiles this file against them.
        static bool Contains(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i + needle.Length <= haystack.Length; i++)
            {
                int j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return true;
            }
            return false;
        }

        static string Str(byte[] elf, Section strtab, uint index, string fileName)
        {
            long start = strtab.Offset + index;
            if (index >= strtab.Size) throw new InvalidDataException($"{fileName}: a string index points outside its string table.");
            long end = start;
            long limit = strtab.Offset + strtab.Size;
            while (end < limit && elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, (int)start, (int)(end - start));
        }

        static void Check(byte[] elf, long offset, long length, string fileName)
        {
            if (offset < 0 || length < 0 || offset + length > elf.Length)
                throw new InvalidDataException($"{fileName}: is truncated or damaged (a table points past the end of the file).");
        }

        static ushort U16(byte[] b, long o) => BitConverter.ToUInt16(b, (int)o);
        static uint U32(byte[] b, long o) => BitConverter.ToUInt32(b, (int)o);
        static ulong U64(byte[] b, long o) => BitConverter.ToUInt64(b, (int)o);
    }

    /// <summary>MSBuild task: patches every libLibTorchSharp.so under the given folders.</summary>
    public sealed class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        /// <summary>Output folders to search (build output, publish output).</summary>
        [Required]
        public ITaskItem[] Directories { get; set; } = Array.Empty<ITaskItem>();

        /// <inheritdoc/>
        public override bool Execute()
        {
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || GlibcxxCompatPatcher.SystemProvidesMissingVersion()) return true;
            foreach (var dir in Directories.Select(d => d.ItemSpec).Where(Directory.Exists))
            {
                foreach (var lib in Directory.EnumerateFiles(dir, "libLibTorchSharp.so", SearchOption.AllDirectories))
                {
                    try
                    {
                        if (GlibcxxCompatPatcher.Patch(lib) == PatchOutcome.Patched)
                            Log.LogMessage(MessageImportance.High,
                                $"Grpo: made {GlibcxxCompatPatcher.MissingVersion} optional in {lib} so TorchSharp loads with this system's older libstdc++.");
                    }
                    catch (InvalidDataException e)
                    {
                        Log.LogWarning($"Grpo: could not patch {lib}: {e.Message}");
                    }
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
}
