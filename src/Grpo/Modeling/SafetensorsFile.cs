using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header (name -> dtype, shape, byte
/// offsets), then the raw tensor bytes. Reading the header alone lets a checkpoint be checked against the config
/// before any weight is read; bulk reads go through TorchSharp.PyBridge. Writing is done here because PyBridge
/// omits the <c>{"format": "pt"}</c> metadata that older transformers versions insist on.
/// </summary>
internal static class SafetensorsFile
{
    /// <summary>One tensor's entry in the header.</summary>
    public sealed record Entry(string DType, long[] Shape, long Begin, long End);

    private static readonly Dictionary<string, int> ElementSizes = new() { ["F64"] = 8, ["F32"] = 4, ["BF16"] = 2, ["F16"] = 2 };

    /// <summary>Reads and checks the header of <paramref name="path"/>: every entry floating point, in bounds and of the size its shape implies.</summary>
    public static Dictionary<string, Entry> ReadHeader(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Weights file '{path}' was not found.", path);
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw Corrupt(path, "it is shorter than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength == 0 || headerLength > (ulong)(stream.Length - 8) || headerLength > 100_000_000)
            throw Corrupt(path, $"its header length {headerLength} does not fit the file of {stream.Length} bytes");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        long dataLength = stream.Length - 8 - (long)headerLength;

        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerBytes) as JsonObject ?? throw Corrupt(path, "its header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw Corrupt(path, $"its header is not valid JSON ({e.Message})");
        }

        var entries = new Dictionary<string, Entry>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__") continue;
            try
            {
                var dtype = node!["dtype"]!.GetValue<string>();
                var shape = node["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                var offsets = node["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                if (!ElementSizes.TryGetValue(dtype, out int elementSize))
                    throw Corrupt(path, $"tensor '{name}' has dtype {dtype}; model weights must be F32, BF16, F16 or F64");
                long expectedBytes = shape.Aggregate(1L, (a, d) => a * d) * elementSize;
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] > dataLength || offsets[1] - offsets[0] != expectedBytes)
                    throw Corrupt(path, $"tensor '{name}' has data offsets [{string.Join(", ", offsets)}] that do not match its shape [{string.Join(", ", shape)}] and the {dataLength} data bytes (is the file truncated?)");
                entries[name] = new Entry(dtype, shape, offsets[0], offsets[1]);
            }
            catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException)
            {
                throw Corrupt(path, $"the header entry of '{name}' lacks dtype, shape or data_offsets");
            }
        }
        return entries;
    }

    /// <summary>Writes tensors (any device, any layout) to <paramref name="path"/> with 8-byte aligned header and pt metadata.</summary>
    public static void Write(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            long bytes = tensor.numel() * tensor.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = DTypeName(tensor.dtype),
                ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padding = (8 - json.Length % 8) % 8;

        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
        stream.Write(length);
        stream.Write(json);
        for (int i = 0; i < padding; i++) stream.WriteByte((byte)' ');
        foreach (var (_, tensor) in tensors)
        {
            using var scope = NewDisposeScope();
            stream.Write(tensor.detach().cpu().contiguous().bytes);
        }
    }

    private static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float16 => "F16",
        ScalarType.Float64 => "F64",
        _ => throw new ArgumentException($"Cannot save a {dtype} tensor as model weights."),
    };

    private static InvalidDataException Corrupt(string path, string why) =>
        new($"Weights file '{path}' is not a valid safetensors file: {why}. Re-save the checkpoint with save_pretrained.");
}
