using System.Buffers.Binary;
using System.Numerics;

namespace Grpo.Logging;

/// <summary>
/// TFRecord framing, the container of TensorBoard event files (tensorflow/core/lib/io/record_writer.cc): each record is
/// <c>uint64 length</c>, <c>uint32 masked CRC32C of the length bytes</c>, the data, <c>uint32 masked CRC32C of the
/// data</c>, all little-endian. Readers check both CRCs and stop at a record that fails them.
/// </summary>
internal static class TfRecord
{
    /// <summary>TensorFlow's CRC mask constant (tensorflow/core/lib/hash/crc32c.h, <c>kMaskDelta</c>).</summary>
    private const uint MaskDelta = 0xa282ead8;

    /// <summary>One whole record around <paramref name="data"/>, ready to be written in one call.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> data)
    {
        var record = new byte[8 + 4 + data.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(8), MaskedCrc32C(record.AsSpan(0, 8)));
        data.CopyTo(record.AsSpan(12));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12 + data.Length), MaskedCrc32C(data));
        return record;
    }

    /// <summary>
    /// CRC32C rotated right by 15 bits plus <see cref="MaskDelta"/>: TensorFlow masks stored CRCs so that a CRC of data
    /// that itself holds CRCs does not degenerate.
    /// </summary>
    public static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + MaskDelta;
    }

    /// <summary>CRC-32C (Castagnoli), with the usual initial and final inversion; <see cref="BitOperations.Crc32C(uint, byte)"/> is the bare update step.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data) crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }
}
