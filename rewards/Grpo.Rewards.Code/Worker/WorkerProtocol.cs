using System.Buffers.Binary;

namespace Grpo.Rewards.Code.Worker;

/// <summary>A program for a worker to run: its assembly image and the static test methods to call, in order.</summary>
/// <param name="Nonce">A random token the worker echoes in each reply. The program never sees it, so it cannot forge a pass.</param>
/// <param name="Image">The compiled assembly.</param>
/// <param name="EntryType">The type that declares the methods.</param>
/// <param name="Methods">The test methods; each is one test.</param>
/// <param name="FirstMethod">Where to start (after a crash, the pool resumes a list in a fresh worker).</param>
/// <param name="OutputLimitChars">Console characters each method may write.</param>
/// <param name="TimeLimit">What is left of the program's wall-clock budget; the worker's own watchdog enforces it too.</param>
internal sealed record WorkerRequest(string Nonce, byte[] Image, string EntryType, IReadOnlyList<string> Methods, int FirstMethod, int OutputLimitChars, TimeSpan TimeLimit)
{
    public byte[] ToBytes() => WorkerProtocol.Serialize(w =>
    {
        w.Write(Nonce);
        w.Write(Image.Length);
        w.Write(Image);
        w.Write(EntryType);
        w.Write(Methods.Count);
        foreach (var method in Methods)
            w.Write(method);
        w.Write(FirstMethod);
        w.Write(OutputLimitChars);
        w.Write(TimeLimit.Ticks);
    });

    public static WorkerRequest FromBytes(byte[] bytes) => WorkerProtocol.Deserialize(bytes, r => new WorkerRequest(
        r.ReadString(),
        r.ReadBytes(r.ReadInt32()),
        r.ReadString(),
        Enumerable.Range(0, r.ReadInt32()).Select(_ => r.ReadString()).ToArray(),
        r.ReadInt32(),
        r.ReadInt32(),
        TimeSpan.FromTicks(r.ReadInt64())));
}

/// <summary>The outcome of one test method, sent as soon as it finishes so that a later crash loses nothing.</summary>
/// <param name="Nonce">The request's nonce; <see cref="Ready"/> carries none.</param>
/// <param name="Method">The index of the method in the request.</param>
/// <param name="Passed">The method returned normally and stayed within the output limit.</param>
/// <param name="Message">Why it failed; empty when it passed.</param>
/// <param name="Retiring">The worker exits after this reply (its heap ran out, say); the pool replaces it.</param>
internal sealed record WorkerReply(string Nonce, int Method, bool Passed, string Message, bool Retiring)
{
    /// <summary>The first frame a worker sends: it has started and redirected its console.</summary>
    public static WorkerReply Ready { get; } = new("", -1, true, "ready", false);

    public byte[] ToBytes() => WorkerProtocol.Serialize(w =>
    {
        w.Write(Nonce);
        w.Write(Method);
        w.Write(Passed);
        w.Write(Message);
        w.Write(Retiring);
    });

    public static WorkerReply FromBytes(byte[] bytes) => WorkerProtocol.Deserialize(bytes, r =>
        new WorkerReply(r.ReadString(), r.ReadInt32(), r.ReadBoolean(), r.ReadString(), r.ReadBoolean()));
}

/// <summary>Frames on the worker's standard input and output: a 4-byte little-endian length, then the payload.</summary>
internal static class WorkerProtocol
{
    const int MaxFrameBytes = 256 << 20;

    public static byte[] Serialize(Action<BinaryWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
            write(writer);
        return buffer.ToArray();
    }

    public static T Deserialize<T>(byte[] bytes, Func<BinaryReader, T> read)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes));
        return read(reader);
    }

    public static void WriteFrame(Stream stream, byte[] payload)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, payload.Length);
        stream.Write(length);
        stream.Write(payload);
        stream.Flush();
    }

    public static async Task WriteFrameAsync(Stream stream, byte[] payload, CancellationToken cancellationToken)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, payload.Length);
        await stream.WriteAsync(length, cancellationToken);
        await stream.WriteAsync(payload, cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    /// <summary>The next frame, or null at the end of the stream.</summary>
    public static byte[]? ReadFrame(Stream stream)
    {
        Span<byte> length = stackalloc byte[4];
        if (stream.ReadAtLeast(length, 4, throwOnEndOfStream: false) < 4)
            return null;
        var payload = new byte[CheckedLength(BinaryPrimitives.ReadInt32LittleEndian(length))];
        return stream.ReadAtLeast(payload, payload.Length, throwOnEndOfStream: false) < payload.Length ? null : payload;
    }

    /// <inheritdoc cref="ReadFrame"/>
    public static async Task<byte[]?> ReadFrameAsync(Stream stream)
    {
        var length = new byte[4];
        if (await stream.ReadAtLeastAsync(length, 4, throwOnEndOfStream: false) < 4)
            return null;
        var payload = new byte[CheckedLength(BinaryPrimitives.ReadInt32LittleEndian(length))];
        return await stream.ReadAtLeastAsync(payload, payload.Length, throwOnEndOfStream: false) < payload.Length ? null : payload;
    }

    static int CheckedLength(int length) => length is >= 0 and <= MaxFrameBytes
        ? length
        : throw new InvalidDataException($"A worker frame claims {length} bytes; the protocol is out of step.");
}
