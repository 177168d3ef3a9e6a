using System.Text.Json;

namespace Grpo.Tests.Lora;

/// <summary>
/// A minimal safetensors reader written from the format's description (8-byte little-endian header length, JSON
/// header, raw little-endian data), independent of the library Grpo uses, so tests check files against it.
/// </summary>
public sealed class SafetensorsFile
{
    public sealed record Entry(string Dtype, long[] Shape, long Begin, long End);

    readonly byte[] bytes;
    readonly long dataStart;

    public SafetensorsFile(string path)
    {
        bytes = File.ReadAllBytes(path);
        var headerLength = (long)BitConverter.ToUInt64(bytes, 0);
        dataStart = 8 + headerLength;
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        foreach (var property in header.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__") continue;
            var offsets = property.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Entries[property.Name] = new Entry(
                property.Value.GetProperty("dtype").GetString()!,
                property.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
                offsets[0], offsets[1]);
        }
    }

    public Dictionary<string, Entry> Entries { get; } = new();

    public float[] Floats(string name)
    {
        var e = Entries[name];
        Assert.Equal("F32", e.Dtype);
        var values = new float[(e.End - e.Begin) / 4];
        Buffer.BlockCopy(bytes, (int)(dataStart + e.Begin), values, 0, values.Length * 4);
        return values;
    }
}
