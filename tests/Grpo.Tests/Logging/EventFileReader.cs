using System.Buffers.Binary;
using System.Text;

namespace Grpo.Tests.Logging;

/// <summary>One decoded <c>tensorflow.Event</c>: what a TensorBoard reader would see.</summary>
internal sealed record TensorBoardRecord(
    double WallTime, long Step, string? FileVersion, int? SessionStatus, IReadOnlyList<(string Tag, float Value)> Scalars);

/// <summary>
/// An event-file reader written for the tests from the format's specifications, sharing no code with the writer:
/// TFRecord framing (tensorflow/core/lib/io/record_reader.cc: uint64 length, masked CRC32C of it, data, masked
/// CRC32C of the data), protocol-buffer wire format decoded generically (protobuf.dev encoding guide), then the
/// fields of event.proto (Event: 1 wall_time double, 2 step int64, 3 file_version, 5 summary, 7 session_log),
/// summary.proto (Summary: 1 value; Value: 1 tag, 2 simple_value float) and SessionLog (1 status).
/// </summary>
internal static class EventFileReader
{
    public static List<TensorBoardRecord> Read(string path) => Records(File.ReadAllBytes(path)).Select(Decode).ToList();

    /// <summary>Splits a TFRecord file, failing on any CRC mismatch or a short record.</summary>
    public static List<byte[]> Records(byte[] file)
    {
        var records = new List<byte[]>();
        var at = 0;
        while (at < file.Length)
        {
            if (file.Length - at < 12) throw new InvalidDataException($"torn header at byte {at}");
            var lengthBytes = file.AsSpan(at, 8);
            var length = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes));
            if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)) != Crc32CReference.Masked(lengthBytes))
                throw new InvalidDataException($"length CRC mismatch at byte {at}");
            if (file.Length - at < 12 + length + 4) throw new InvalidDataException($"torn record at byte {at}");
            var data = file.AsSpan(at + 12, length);
            if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 12 + length)) != Crc32CReference.Masked(data))
                throw new InvalidDataException($"data CRC mismatch at byte {at}");
            records.Add(data.ToArray());
            at += 12 + length + 4;
        }
        return records;
    }

    /// <summary>A protobuf field as it sits on the wire: number, wire type, and the value (varint or fixed bits, or bytes).</summary>
    public readonly record struct Field(int Number, int WireType, ulong Bits, byte[] Bytes);

    public static List<Field> Fields(byte[] message)
    {
        var fields = new List<Field>();
        var at = 0;
        while (at < message.Length)
        {
            var key = Varint(message, ref at);
            var number = (int)(key >> 3);
            var wireType = (int)(key & 7);
            switch (wireType)
            {
                case 0:
                    fields.Add(new Field(number, 0, Varint(message, ref at), []));
                    break;
                case 1:
                    fields.Add(new Field(number, 1, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(at, 8)), []));
                    at += 8;
                    break;
                case 2:
                    var length = checked((int)Varint(message, ref at));
                    fields.Add(new Field(number, 2, 0, message.AsSpan(at, length).ToArray()));
                    at += length;
                    break;
                case 5:
                    fields.Add(new Field(number, 5, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(at, 4)), []));
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"wire type {wireType} (field {number}) is not one an Event uses");
            }
        }
        return fields;
    }

    private static ulong Varint(byte[] data, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
    }

    private static TensorBoardRecord Decode(byte[] eventBytes)
    {
        double wallTime = 0;
        long step = 0;
        string? fileVersion = null;
        int? status = null;
        var scalars = new List<(string, float)>();
        foreach (var f in Fields(eventBytes))
        {
            switch (f.Number, f.WireType)
            {
                case (1, 1): wallTime = BitConverter.Int64BitsToDouble((long)f.Bits); break;
                case (2, 0): step = (long)f.Bits; break;
                case (3, 2): fileVersion = Encoding.UTF8.GetString(f.Bytes); break;
                case (5, 2): scalars.AddRange(Fields(f.Bytes).Where(v => v.Number == 1).Select(v => DecodeValue(v.Bytes))); break;
                case (7, 2): status = (int)Fields(f.Bytes).Single(s => s.Number == 1 && s.WireType == 0).Bits; break;
                default: throw new InvalidDataException($"unexpected Event field {f.Number} with wire type {f.WireType}");
            }
        }
        return new TensorBoardRecord(wallTime, step, fileVersion, status, scalars);
    }

    private static (string, float) DecodeValue(byte[] value)
    {
        var fields = Fields(value);
        var tag = Encoding.UTF8.GetString(fields.Single(f => f.Number == 1 && f.WireType == 2).Bytes);
        var simple = BitConverter.Int32BitsToSingle((int)fields.Single(f => f.Number == 2 && f.WireType == 5).Bits);
        return (tag, simple);
    }
}
