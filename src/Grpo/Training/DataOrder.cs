namespace Grpo.Training;

/// <summary>
/// Which problems each step trains on: the dataset in a fresh seeded permutation every epoch, taken a few at a time
/// and running on into the next epoch. The whole state is one number, <see cref="Position"/>, so a checkpoint
/// resumes the exact order.
/// </summary>
internal sealed class DataOrder(int count, int seed)
{
    private int _epoch = -1;
    private int[] _permutation = [];

    /// <summary>Problems handed out since the run began.</summary>
    public long Position { get; set; }

    /// <summary>The indices of the next <paramref name="n"/> problems.</summary>
    public int[] Next(int n)
    {
        var indices = new int[n];
        for (int i = 0; i < n; i++, Position++)
        {
            int epoch = (int)(Position / count);
            if (epoch != _epoch) (_epoch, _permutation) = (epoch, Permutation(epoch));
            indices[i] = _permutation[Position % count];
        }
        return indices;
    }

    private int[] Permutation(int epoch)
    {
        var order = Enumerable.Range(0, count).ToArray();
        new Random(unchecked(seed * 1_000_003 + epoch)).Shuffle(order); // seeded Random is stable across runs
        return order;
    }
}
