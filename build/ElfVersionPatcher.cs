// Build step for TorchSharp 0.107 on hosts whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12, GCC 12).
// libLibTorchSharp.so lists GLIBCXX_3.4.32 in its .gnu.version_r section only for the marker symbol
// std::ios_base_library_init(), which nothing calls. The dynamic loader refuses the library when a
// required version is missing, unless the requirement is flagged VER_FLG_WEAK. This file flips that flag
// in the build-output copy. It is compiled twice: as an MSBuild inline task (Directory.Build.targets)
// and into the tests (with ELF_PATCHER_NO_TASK), so the tests exercise the exact code the build runs.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace VitMlNet.Build
{
    /// <summary>Reads and edits the version-needs section (.gnu.version_r) of a 64-bit little-endian ELF file.</summary>
    public static class ElfVersionPatcher
    {
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlgWeak = 0x2;

        /// <summary>One version requirement: the library it comes from, the version name and its flags.</summary>
        public readonly struct Requirement
        {
            /// <summary>Creates a requirement record.</summary>
            public Requirement(string file, string version, ushort flags, long flagsOffset)
            {
                File = file; Version = version; Flags = flags; FlagsOffset = flagsOffset;
            }
            /// <summary>The needed library, for example libstdc++.so.6.</summary>
            public string File { get; }
            /// <summary>The needed version, for example GLIBCXX_3.4.32.</summary>
            public string Version { get; }
            /// <summary>vna_flags.</summary>
            public ushort Flags { get; }
            /// <summary>File offset of vna_flags.</summary>
            public long FlagsOffset { get; }
            /// <summary>Whether the loader tolerates the version being absent.</summary>
            public bool IsWeak => (Flags & VerFlgWeak) != 0;
        }

        /// <summary>Lists every version requirement of an ELF image.</summary>
        public static List<Requirement> ReadRequirements(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("only 64-bit little-endian ELF files are supported");
            long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
            int shentsize = BitConverter.ToUInt16(elf, 0x3A);
            int shnum = BitConverter.ToUInt16(elf, 0x3C);
            var result = new List<Requirement>();
            for (int i = 0; i < shnum; i++)
            {
                long sh = shoff + (long)i * shentsize;
                if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
                long offset = (long)BitConverter.ToUInt64(elf, (int)sh + 0x18);
                int link = (int)BitConverter.ToUInt32(elf, (int)sh + 0x28);
                long strtab = (long)BitConverter.ToUInt64(elf, (int)(shoff + (long)link * shentsize + 0x18));
                long vn = offset;
                while (true)
                {
                    int count = BitConverter.ToUInt16(elf, (int)vn + 2);
                    string file = ReadString(elf, strtab + BitConverter.ToUInt32(elf, (int)vn + 4));
                    long aux = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                    for (int j = 0; j < count; j++)
                    {
                        ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                        string name = ReadString(elf, strtab + BitConverter.ToUInt32(elf, (int)aux + 8));
                        result.Add(new Requirement(file, name, flags, aux + 4));
                        uint nextAux = BitConverter.ToUInt32(elf, (int)aux + 12);
                        if (nextAux == 0) break;
                        aux += nextAux;
                    }
                    uint next = BitConverter.ToUInt32(elf, (int)vn + 12);
                    if (next == 0) break;
                    vn += next;
                }
            }
            return result;
        }

        /// <summary>
        /// Marks the requirement on <paramref name="version"/> weak. Returns true when the image changed,
        /// false when the requirement is absent or already weak.
        /// </summary>
        public static bool MarkWeak(byte[] elf, string version)
        {
            bool changed = false;
            foreach (var r in ReadRequirements(elf))
            {
                if (r.Version != version || r.IsWeak) continue;
                ushort flags = (ushort)(r.Flags | VerFlgWeak);
                elf[r.FlagsOffset] = (byte)(flags & 0xff);
                elf[r.FlagsOffset + 1] = (byte)(flags >> 8);
                changed = true;
            }
            return changed;
        }

        /// <summary>Patches a file in place, writing only when something changes. Returns whether it wrote.</summary>
        public static bool MarkWeakInFile(string path, string version)
        {
            byte[] elf = File.ReadAllBytes(path);
            if (!MarkWeak(elf, version)) return false;
            string temp = path + ".patching";
            File.WriteAllBytes(temp, elf);
            File.Delete(path);
            File.Move(temp, path);
            return true;
        }

        private static string ReadString(byte[] elf, long offset)
        {
            int end = (int)offset;
            while (elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, (int)offset, end - (int)offset);
        }
    }

#if !ELF_PATCHER_NO_TASK
    /// <summary>MSBuild task: marks a version requirement weak in each given ELF file when needed.</summary>
    public class MarkElfVersionWeak : Microsoft.Build.Utilities.Task
    {
        /// <summary>The ELF files to patch.</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>The version to mark weak.</summary>
        [Microsoft.Build.Framework.Required]
        public string Version { get; set; } = "";

        /// <inheritdoc />
        public override bool Execute()
        {
            foreach (var item in Files)
            {
                if (ElfVersionPatcher.MarkWeakInFile(item.ItemSpec, Version))
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "Marked {0} weak in {1}", Version, item.ItemSpec);
            }
            return !Log.HasLoggedErrors;
        }
    }
#endif
}
