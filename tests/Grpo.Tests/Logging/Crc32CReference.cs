namespace Grpo.Tests.Logging;

/// <summary>
/// CRC-32C (Castagnoli) computed bit by bit from its definition, independent of the library's
/// <c>BitOperations.Crc32C</c> path: reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF.
/// The tests check it against the standard check value CRC-32C("123456789") = 0xE3069283.
/// </summary>
internal static class Crc32CReference
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return crc ^ 0xFFFFFFFFu;
    }

    /// <summary>TensorFlow's stored form (tensorflow/core/lib/hash/crc32c.h, Mask): rotate right by 15, add 0xa282ead8.</summary>
    public static uint Masked(ReadOnlySpan<byte> data)
    {
        var crc = Compute(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
    }
}
