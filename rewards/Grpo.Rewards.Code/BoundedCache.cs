using System.Collections.Concurrent;

namespace Grpo.Rewards.Code;

/// <summary>
/// Remembers the results of asynchronous work by key, so that identical programs (common within a GRPO group, and
/// shared by the execution and compiles rewards) are compiled and run once, even when asked for at the same time.
/// Holds at most <c>capacity</c> entries, dropping the oldest; failed or cancelled work is forgotten.
/// </summary>
internal sealed class BoundedCache<T>(int capacity)
{
    readonly ConcurrentDictionary<string, Lazy<Task<T>>> _entries = new();
    readonly ConcurrentQueue<string> _order = new();

    public async Task<T> GetOrAddAsync(string key, Func<Task<T>> create)
    {
        if (capacity == 0)
            return await create();
        var entry = _entries.GetOrAdd(key, k =>
        {
            _order.Enqueue(k);
            return new Lazy<Task<T>>(create);
        });
        Evict();
        try
        {
            return await entry.Value;
        }
        catch
        {
            _entries.TryRemove(new KeyValuePair<string, Lazy<Task<T>>>(key, entry));
            throw;
        }
    }

    void Evict()
    {
        while (_entries.Count > capacity && _order.TryDequeue(out var oldest))
            _entries.TryRemove(oldest, out _);
    }
}
