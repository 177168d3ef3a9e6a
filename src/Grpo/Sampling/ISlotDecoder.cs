using static TorchSharp.torch;

namespace Grpo.Sampling;

/// <summary>
/// The slot calls of <see cref="DecodeEngine"/> that a rollout loop drives, as an interface so that the multi-turn
/// loop (<see cref="ToolRollouts"/>) can be tested against a scripted model whose every token is known in advance.
/// </summary>
internal interface ISlotDecoder : IDisposable
{
    /// <inheritdoc cref="DecodeEngine.Acquire"/>
    int[] Acquire(int count);

    /// <inheritdoc cref="DecodeEngine.Release"/>
    void Release(int slot);

    /// <inheritdoc cref="DecodeEngine.Append"/>
    Tensor Append(IReadOnlyList<int> slots, IReadOnlyList<IReadOnlyList<int>> tokens);

    /// <inheritdoc cref="DecodeEngine.Decode"/>
    Tensor Decode(IReadOnlyList<int> slots, Tensor tokens);

    /// <inheritdoc cref="DecodeEngine.Fork"/>
    int[] Fork(int slot, int count);
}
