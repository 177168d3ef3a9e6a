using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Grpo.Logging;

/// <summary>
/// The few protocol-buffer encodings an event file needs (protobuf.dev/programming-guides/encoding): a field is a
/// varint key <c>(field number &lt;&lt; 3) | wire type</c> followed by its value, varint (type 0), 64-bit (type 1),
/// length-delimited (type 2: strings, bytes, embedded messages) or 32-bit (type 5), little-endian.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    /// <summary>The message encoded so far.</summary>
    public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

    /// <summary>An int64, int32 or enum field (wire type 0); negative values never occur here.</summary>
    public void Varint(int field, ulong value)
    {
        Key(field, 0);
        RawVarint(value);
    }

    /// <summary>A <c>double</c> field (wire type 1).</summary>
    public void Double(int field, double value)
    {
        Key(field, 1);
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    /// <summary>A <c>float</c> field (wire type 5).</summary>
    public void Float(int field, float value)
    {
        Key(field, 5);
        BinaryPrimitives.WriteSingleLittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    /// <summary>A <c>string</c> field, UTF-8 (wire type 2).</summary>
    public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>An embedded message field (wire type 2).</summary>
    public void Message(int field, ProtoWriter message) => Bytes(field, message.Written);

    private void Bytes(int field, ReadOnlySpan<byte> value)
    {
        Key(field, 2);
        RawVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    private void Key(int field, int wireType) => RawVarint(((ulong)field << 3) | (uint)wireType);

    private void RawVarint(ulong value)
    {
        // Seven bits per byte, least significant group first; the high bit says another byte follows.
        while (value >= 0x80)
        {
            _buffer.Write([(byte)(value | 0x80)]);
            value >>= 7;
        }
        _buffer.Write([(byte)value]);
    }
}
