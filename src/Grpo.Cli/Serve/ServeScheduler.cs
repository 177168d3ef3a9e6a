using Grpo.Sampling;
using Microsoft.AspNetCore.Http;

namespace Grpo.Cli.Serve;

/// <summary>
/// The one thread that owns the models (they are not thread-safe): requests queue here, and at each turn the loop
/// takes the request at the head of the queue together with every queued request for the same model with the same
/// decode settings (<see cref="DecodeSettings.BatchesWith"/>), up to <c>--max-batch-rows</c> completions, and decodes
/// all their rows in one <see cref="GroupSampler"/> batch. Adapter loads and unloads queue here too and run between
/// batches, in arrival order.
/// </summary>
/// <remarks>
/// <para>Requests batch per turn, as GroupSampler decodes: a request that arrives while a batch decodes waits for the
/// next turn rather than joining the running batch. This file is the one to change when the sampler gains per-row
/// cache positions and rows can join a running batch.</para>
/// <para>Seeds: a batch's generator is seeded with the seed of its first request (a random one when that request has
/// none). So a request with a seed gives the same completions every time it decodes alone, which is what a client that
/// waits for each response sees, and the trainer's per-step rollouts when each request is alone in its batch. Decoded
/// together with other requests, it draws from one shared generator, so its completions then depend on which requests
/// shared its batch and in what order (they are still draws from the same distribution).</para>
/// <para>A request whose client disconnected is dropped if it is still queued; a batch stops early when every one of
/// its clients has gone.</para>
/// </remarks>
sealed class ServeScheduler : IDisposable
{
    abstract class Job;

    sealed class GenerationJob(GenerationRequest request, CancellationToken cancellationToken) : Job
    {
        public GenerationRequest Request { get; } = request;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<IReadOnlyList<Completion>> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Rows => Request.Prompts.Count * Request.N;
        /// <summary>Takes the job out of the queue when its client goes while it waits.</summary>
        public CancellationTokenRegistration Departure { get; set; }
    }

    sealed class ControlJob(Action action) : Job
    {
        public Action Action { get; } = action;
        public TaskCompletionSource Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    readonly ServedModels _models;
    readonly int _maxQueue;
    readonly int _maxBatchRows;
    readonly object _gate = new();
    readonly List<Job> _queue = [];
    readonly CancellationTokenSource _stopping = new();
    readonly Thread _thread;
    int _holds;
    long _batches;
    int _lastBatchRequests;
    long _dropped;

    /// <param name="models">What requests decode with; used on this scheduler's thread only, apart from name checks.</param>
    /// <param name="maxQueue">The most generation requests waiting; one more is refused with 503.</param>
    /// <param name="maxBatchRows">The most completions (prompts × n) decoded in one batch; a larger request decodes alone.</param>
    public ServeScheduler(ServedModels models, int maxQueue, int maxBatchRows)
    {
        _models = models;
        _maxQueue = maxQueue;
        _maxBatchRows = maxBatchRows;
        // A thread of its own rather than pool threads: TorchSharp's dispose scopes and inference mode are per thread,
        // and one thread keeps native memory in one malloc arena (see the README's note on MALLOC_ARENA_MAX).
        _thread = new Thread(Loop) { IsBackground = true, Name = "grpo serve decode loop" };
        _thread.Start();
    }

    /// <summary>Batches decoded so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>How many requests the latest batch decoded together.</summary>
    public int LastBatchRequests => Volatile.Read(ref _lastBatchRequests);

    /// <summary>Queued requests dropped because their client disconnected before their turn.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Generation requests waiting for their turn.</summary>
    public int Queued
    {
        get { lock (_gate) return _queue.Count(j => j is GenerationJob); }
    }

    /// <summary>
    /// Queues <paramref name="request"/> and completes with its completions, prompt by prompt, <c>n</c> per prompt.
    /// Throws a 503 at once when the queue is full; cancelled with <paramref name="cancellationToken"/> (the client went).
    /// </summary>
    public Task<IReadOnlyList<Completion>> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken)
    {
        var job = new GenerationJob(request, cancellationToken);
        lock (_gate)
        {
            int waiting = _queue.Count(j => j is GenerationJob);
            if (waiting >= _maxQueue)
                throw new OpenAiError(StatusCodes.Status503ServiceUnavailable, "ServiceUnavailableError",
                    $"{waiting} requests are already waiting, the most this server queues (--max-queue); retry shortly.");
            Enqueue(job);
        }
        // Registered outside the lock: with a token already cancelled, the callback runs at once and takes the lock.
        job.Departure = cancellationToken.Register(() => Drop(job));
        return job.Result.Task;
    }

    /// <summary>Runs <paramref name="action"/> on the loop's thread between batches (adapter loads and unloads).</summary>
    public Task RunAsync(Action action)
    {
        var job = new ControlJob(action);
        lock (_gate) Enqueue(job);
        return job.Result.Task;
    }

    /// <summary>Holds the loop before its next turn until disposed, so that requests queued meanwhile batch together.</summary>
    internal IDisposable Hold()
    {
        lock (_gate) _holds++;
        return new Release(this);
    }

    sealed class Release(ServeScheduler owner) : IDisposable
    {
        int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0) return;
            lock (owner._gate)
            {
                owner._holds--;
                Monitor.PulseAll(owner._gate);
            }
        }
    }

    /// <summary>Drops a queued job whose client has gone, freeing its place at once; one already decoding is left to its batch.</summary>
    void Drop(GenerationJob job)
    {
        lock (_gate)
        {
            if (!_queue.Remove(job)) return;
            _dropped++;
        }
        job.Result.TrySetCanceled(job.CancellationToken);
    }

    void Enqueue(Job job)
    {
        if (_stopping.IsCancellationRequested)
            throw new OpenAiError(StatusCodes.Status503ServiceUnavailable, "ServiceUnavailableError", "The server is stopping; send the request to another replica.");
        _queue.Add(job);
        Monitor.PulseAll(_gate);
    }

    void Loop()
    {
        while (true)
        {
            ControlJob? control = null;
            List<GenerationJob> batch = [];
            lock (_gate)
            {
                while (!_stopping.IsCancellationRequested && (_queue.Count == 0 || _holds > 0))
                    Monitor.Wait(_gate);
                if (_stopping.IsCancellationRequested) break;
                if (_queue[0] is ControlJob head)
                {
                    control = head;
                    _queue.RemoveAt(0);
                }
                else
                    batch = TakeBatch();
            }
            if (control is not null) RunControl(control);
            else if (batch.Count > 0) Decode(batch);
        }
        List<Job> left;
        lock (_gate)
        {
            left = [.. _queue];
            _queue.Clear();
        }
        var stopping = new OpenAiError(StatusCodes.Status503ServiceUnavailable, "ServiceUnavailableError", "The server stopped before this request's turn; send it to another replica.");
        foreach (var job in left)
            if (job is GenerationJob g) g.Result.TrySetException(stopping);
            else ((ControlJob)job).Result.TrySetException(stopping);
    }

    /// <summary>
    /// The head request and the queued requests that can share its batch, up to the first queued load or unload (which
    /// must run in order). Called under the lock.
    /// </summary>
    List<GenerationJob> TakeBatch()
    {
        var batch = new List<GenerationJob>();
        int rows = 0;
        for (int i = 0; i < _queue.Count && _queue[i] is GenerationJob job;)
        {
            bool joins = batch.Count == 0
                || (job.Request.Model == batch[0].Request.Model && job.Request.Settings.BatchesWith(batch[0].Request.Settings) && rows + job.Rows <= _maxBatchRows);
            if (joins)
            {
                batch.Add(job);
                rows += job.Rows;
                _queue.RemoveAt(i);
            }
            else i++;
        }
        return batch;
    }

    static void RunControl(ControlJob job)
    {
        try
        {
            job.Action();
            job.Result.TrySetResult();
        }
        catch (Exception e)
        {
            job.Result.TrySetException(e);
        }
    }

    void Decode(List<GenerationJob> jobs)
    {
        var first = jobs[0].Request;
        // Requests asking for different n share one group size: a request's prompt is listed n / g times, g = gcd of the n's.
        int group = jobs.Select(j => j.Request.N).Aggregate(GreatestCommonDivisor);
        var prompts = new List<int[]>();
        foreach (var job in jobs)
            foreach (var prompt in job.Request.Prompts)
                prompts.AddRange(Enumerable.Repeat(prompt, job.Request.N / group));

        // The batch stops when the server stops or when every client in it has gone.
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        int present = jobs.Count;
        var registrations = jobs.Select(j => j.CancellationToken.Register(() =>
        {
            if (Interlocked.Decrement(ref present) == 0) cancel.Cancel();
        })).ToList();
        try
        {
            var folder = _models.Resolve(first.Model);
            var options = first.Settings.ToSamplingOptions(folder.EosTokenIds, first.Seed ?? Random.Shared.NextInt64(), prompts.Count);
            using var sampler = new GroupSampler(folder.Model, folder.Tokenizer, options);
            var completions = sampler.Sample(prompts, group, cancel.Token);
            Interlocked.Increment(ref _batches);
            Volatile.Write(ref _lastBatchRequests, jobs.Count);
            int offset = 0;
            foreach (var job in jobs)
            {
                job.Result.TrySetResult(completions.Skip(offset).Take(job.Rows).ToList());
                offset += job.Rows;
            }
        }
        catch (OperationCanceledException)
        {
            foreach (var job in jobs) job.Result.TrySetCanceled();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // The sampler's own refusals (a batch too large for memory, say) are the request's to fix.
            var error = OpenAiError.BadRequest(e.Message.Split('\n')[0].Trim());
            foreach (var job in jobs) job.Result.TrySetException(error);
        }
        catch (Exception e)
        {
            foreach (var job in jobs) job.Result.TrySetException(e);
        }
        finally
        {
            foreach (var registration in registrations) registration.Dispose();
            foreach (var job in jobs) job.Departure.Dispose();
        }
    }

    static int GreatestCommonDivisor(int a, int b) => b == 0 ? a : GreatestCommonDivisor(b, a % b);

    /// <summary>Stops the loop after its current batch (cancelled at its next token) and refuses what is still queued with 503.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping.Cancel();
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
        _stopping.Dispose();
    }
}
