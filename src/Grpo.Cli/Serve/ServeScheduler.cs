using Grpo.Sampling;
using Microsoft.AspNetCore.Http;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Cli.Serve;

/// <summary>
/// The one thread that owns the model (it is not thread-safe): requests queue here and decode on one
/// <see cref="DecodeEngine"/> by continuous batching, as vLLM does. Between decode steps the waiting requests for the
/// running batch's model join it: their prompts are prefilled in one pass into free cache slots (each forked into its
/// n rows) while the rows already running keep their place, and every active row then decodes one token per step; a
/// row that finishes frees its slot at once, and a request answers as soon as its own rows are done. Adapter loads
/// and unloads queue here too and run when no batch is running, in arrival order.
/// </summary>
/// <remarks>
/// <para>Rows of different sampling settings share a batch: each request's rows are sampled by
/// <see cref="TokenSampler.Sample"/> with its own settings and its own generator, seeded with the request's seed (a
/// random one when it has none). A request's draws therefore depend only on its own rows, so a seeded request gives
/// the same completions alone or batched with others. The step still copies to the host once: the drawn ids and
/// log-probs of every row in one tensor (plus, per request with top-p or min-p but no top-k, the sampler's own check
/// of its candidate set; a trainer's requests have those filters off).</para>
/// <para>One model per batch: the LoRA layers hold one adapter at a time (<see cref="ServedModels.Activate"/>), so a
/// request for another adapter (or the base) waits at the head of the queue, and the requests behind it wait too, until
/// the running rows finish; then its model becomes the batch's.</para>
/// <para>A request whose client disconnected is dropped if it is still queued; a running one's rows are released at
/// the next step.</para>
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
        public Decoding? State { get; set; }
    }

    /// <summary>A running request's sampling state: its options, its generator and its rows' results so far.</summary>
    sealed class Decoding(GenerationJob job, SamplingOptions options, Generator generator) : IDisposable
    {
        public GenerationJob Job { get; } = job;
        public SamplingOptions Options { get; } = options;
        public Generator Generator { get; } = generator;
        public HashSet<int> Eos { get; } = [.. options.EosTokenIds!];
        /// <summary>A stop string of n characters spans at most 4n byte-level tokens, plus one cut mid-character.</summary>
        public int StopTailTokens { get; } = options.StopStrings.Count == 0 ? 0 : 4 * options.StopStrings.Max(s => s.Length) + 1;
        public Row[] Rows { get; set; } = [];
        public int Unfinished { get; set; }
        public void Dispose() => Generator.Dispose();
    }

    /// <summary>One completion being decoded: the slot it occupies and what it has drawn.</summary>
    sealed class Row(Decoding owner, int index, int slot)
    {
        public Decoding Owner { get; } = owner;
        /// <summary>Its place in the request's answer: prompt × n + sample.</summary>
        public int Index { get; } = index;
        public int Slot { get; } = slot;
        public List<int> Tokens { get; } = [];
        public List<float> LogProbs { get; } = [];
        public FinishReason Reason { get; set; }
        /// <summary>Whether it still holds its slot.</summary>
        public bool Held { get; set; } = true;
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
    long _completed;
    long _steps;

    // The running batch, touched by the loop's thread only.
    DecodeEngine? _engine;
    /// <summary>The active rows in the order of <see cref="_logits"/>' rows; a request's rows stay together.</summary>
    readonly List<Row> _rows = [];
    /// <summary>[rows, vocab]: each active row's next-token logits.</summary>
    Tensor? _logits;
    string? _model;
    IDisposable? _activation;
    int _batchRequests;

    /// <param name="models">What requests decode with; used on this scheduler's thread only, apart from name checks.</param>
    /// <param name="maxQueue">The most generation requests waiting; one more is refused with 503.</param>
    /// <param name="maxBatchRows">The most completions (prompts × n) decoding at once; a larger request decodes alone.</param>
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

    /// <summary>Batches decoded so far: stretches of decoding from the first row admitted to the last row finished.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>How many requests the latest batch has decoded together, those that joined it while it ran included.</summary>
    public int LastBatchRequests => Volatile.Read(ref _lastBatchRequests);

    /// <summary>Requests answered with their completions.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Decode steps run (one token for every active row); lets a test send a request while a batch is mid-way.</summary>
    internal long Steps => Interlocked.Read(ref _steps);

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

    /// <summary>Runs <paramref name="action"/> on the loop's thread when no batch is running (adapter loads and unloads).</summary>
    public Task RunAsync(Action action)
    {
        var job = new ControlJob(action);
        lock (_gate) Enqueue(job);
        return job.Result.Task;
    }

    /// <summary>Holds back admissions until disposed (running rows decode on), so that requests queued meanwhile join together.</summary>
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

    /// <summary>Drops a queued job whose client has gone, freeing its place at once; a decoding one is released at the next step.</summary>
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
        using var inference = inference_mode();
        while (true)
        {
            ControlJob? control = null;
            List<GenerationJob> admitted = [];
            lock (_gate)
            {
                while (!_stopping.IsCancellationRequested && _rows.Count == 0 && (_queue.Count == 0 || _holds > 0))
                    Monitor.Wait(_gate);
                if (_stopping.IsCancellationRequested) break;
                if (_holds == 0)
                {
                    if (_rows.Count == 0 && _queue[0] is ControlJob head)
                    {
                        control = head;
                        _queue.RemoveAt(0);
                    }
                    else admitted = Admit();
                }
            }
            if (control is not null) RunControl(control);
            else
            {
                if (admitted.Count > 0) Join(admitted);
                if (_rows.Count > 0) Step();
            }
        }
        // Stopping: the requests decoding are cancelled (the host answers them 503), the queued ones refused.
        foreach (var state in _rows.Select(r => r.Owner).Distinct().ToList()) Finish(state, e: null);
        EndBatch();
        _engine?.Dispose();
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
    /// Takes the queued requests that join the batch now, in arrival order, up to the first that cannot (a load or
    /// unload, another model's request while this one's rows run, or too few free slots): later ones never overtake
    /// it, so it goes as soon as the batch drains. A request larger than the batch goes alone. Called under the lock.
    /// </summary>
    List<GenerationJob> Admit()
    {
        var admitted = new List<GenerationJob>();
        bool running = _rows.Count > 0;
        int free = running ? _engine!.FreeSlots : _maxBatchRows;
        while (_queue.Count > 0 && _queue[0] is GenerationJob job)
        {
            bool fits = running
                ? job.Request.Model == _model && job.Rows <= free && Needed(job) <= _engine!.Capacity
                : admitted.Count == 0 || (job.Request.Model == admitted[0].Request.Model && job.Rows <= free);
            if (!fits) break;
            admitted.Add(job);
            free -= job.Rows;
            _queue.RemoveAt(0);
        }
        return admitted;
    }

    /// <summary>Cache positions a request's rows need: its longest prompt and its token limit.</summary>
    static int Needed(GenerationJob job) => job.Request.Prompts.Max(p => p.Length) + job.Request.Settings.MaxTokens;

    /// <summary>
    /// Prefills the admitted requests' prompts in one pass, each into a free slot then forked into its n rows, while
    /// the running rows keep theirs; the new rows' logits join the batch's. A new batch first switches the model to
    /// the requests' adapter and, when the engine is too small for them, makes a larger one.
    /// </summary>
    void Join(List<GenerationJob> jobs)
    {
        if (_rows.Count == 0 && !StartBatch(jobs)) return;
        var engine = _engine!;
        var device = _models.Base.Model.Device;
        var heads = new List<int>();
        var prompts = new List<IReadOnlyList<int>>();
        var joining = new List<Row>();
        var headOfRow = new List<long>();
        try
        {
            foreach (var job in jobs)
            {
                job.State = new Decoding(job, job.Request.Settings.ToSamplingOptions(_models.Base.EosTokenIds),
                    new Generator((ulong)(job.Request.Seed ?? Random.Shared.NextInt64()), device));
                foreach (var prompt in job.Request.Prompts)
                {
                    heads.Add(engine.Acquire(1)[0]);
                    prompts.Add(prompt);
                }
            }
            using var scope = NewDisposeScope();
            var prefill = engine.Append(heads, prompts);   // [prompts, vocab]
            int head = 0;
            foreach (var job in jobs)
            {
                var state = job.State!;
                state.Rows = new Row[job.Rows];
                for (int p = 0; p < job.Request.Prompts.Count; p++, head++)
                {
                    int[] slots = [heads[head], .. engine.Fork(heads[head], job.Request.N - 1)];
                    for (int k = 0; k < slots.Length; k++)
                    {
                        var row = state.Rows[p * job.Request.N + k] = new Row(state, p * job.Request.N + k, slots[k]);
                        joining.Add(row);
                        headOfRow.Add(head);
                    }
                }
                state.Unfinished = job.Rows;
            }
            var logits = prefill.index_select(0, tensor(headOfRow.ToArray(), device: device));
            var carried = _logits is null ? logits : cat([_logits, logits]);
            _logits?.Dispose();
            _logits = carried.MoveToOuterDisposeScope();
            _rows.AddRange(joining);
        }
        catch (Exception e)
        {
            // Refused before it touched the running rows (a prompt the cache cannot hold, say): the joining requests' error.
            foreach (var slot in heads.Concat(joining.Select(r => r.Slot)).Distinct()) engine.Release(slot);
            var error = e is ArgumentException or InvalidOperationException ? OpenAiError.BadRequest(e.Message.Split('\n')[0].Trim()) : e;
            foreach (var job in jobs)
            {
                job.State?.Dispose();
                job.Result.TrySetException(error);
                job.Departure.Dispose();
            }
            if (_rows.Count == 0) EndBatch();
            return;
        }
        _batchRequests += jobs.Count;
        Volatile.Write(ref _lastBatchRequests, _batchRequests);
    }

    /// <summary>Switches the model to the requests' adapter and sizes the engine for them; false (the requests answered) when that fails.</summary>
    bool StartBatch(List<GenerationJob> jobs)
    {
        try
        {
            _activation = _models.Activate(jobs[0].Request.Model);
            _model = jobs[0].Request.Model;
            int slots = Math.Max(_maxBatchRows, jobs.Sum(j => j.Rows));
            // Room for the longest request, rounded up so that similar requests reuse the engine rather than remake it.
            int capacity = Math.Min(_models.Context, (int)Math.Min(int.MaxValue, 1L << (int)Math.Ceiling(Math.Log2(Math.Max(256, jobs.Max(Needed))))));
            capacity = Math.Max(capacity, jobs.Max(Needed));
            if (_engine is null || _engine.Slots < slots || _engine.Capacity < capacity)
            {
                _engine?.Dispose();
                _engine = null;
                _engine = new DecodeEngine(_models.Base.Model, slots, capacity);
            }
        }
        catch (Exception e)
        {
            var error = e is ArgumentException or InvalidOperationException ? OpenAiError.BadRequest(e.Message.Split('\n')[0].Trim()) : e;
            foreach (var job in jobs)
            {
                job.Result.TrySetException(error);
                job.Departure.Dispose();
            }
            EndBatch();
            return false;
        }
        _batchRequests = 0;
        Interlocked.Increment(ref _batches);
        return true;
    }

    /// <summary>
    /// One decode step for every active row: each request's rows drawn with its settings and generator, one host copy
    /// of all the drawn ids and log-probs, finished rows released and their requests answered when complete, then one
    /// forward pass for the rows that go on.
    /// </summary>
    void Step()
    {
        try
        {
            using var scope = NewDisposeScope();
            var drawn = new List<Tensor>();
            var drawnLogProbs = new List<Tensor>();
            for (int start = 0; start < _rows.Count;)
            {
                var state = _rows[start].Owner;
                int count = 1;
                while (start + count < _rows.Count && _rows[start + count].Owner == state) count++;
                var (tokens, logProbs) = TokenSampler.Sample(_logits!.narrow(0, start, count), state.Options, state.Generator);
                drawn.Add(tokens);
                drawnLogProbs.Add(logProbs);
                start += count;
            }
            var next = cat(drawn);
            // The step's one host synchronisation: the drawn ids and their log-probs, in one copy.
            var host = cat([next.to(ScalarType.Float64), cat(drawnLogProbs).to(ScalarType.Float64)]).cpu().data<double>().ToArray();

            int total = _rows.Count;
            // Judged once per step, so that all rows of a request whose client went leave together.
            var departed = _rows.Select(r => r.Owner).Distinct().Where(s => s.Job.CancellationToken.IsCancellationRequested).ToHashSet();
            var keep = new List<int>(total);
            var finished = new List<Decoding>();
            for (int i = 0; i < total; i++)
            {
                var row = _rows[i];
                var state = row.Owner;
                int token = (int)host[i];
                row.Tokens.Add(token);
                row.LogProbs.Add((float)host[total + i]);
                bool done = true;
                if (state.Eos.Contains(token)) row.Reason = FinishReason.Eos;
                else if (HitsStopString(state, row.Tokens)) row.Reason = FinishReason.StopString;
                else if (row.Tokens.Count == state.Options.MaxNewTokens) row.Reason = FinishReason.Length;
                else done = departed.Contains(state);
                if (!done)
                {
                    keep.Add(i);
                    continue;
                }
                ReleaseRow(row);
                if (--state.Unfinished == 0) finished.Add(state);
            }
            if (keep.Count < total)
            {
                next = next.index_select(0, tensor(keep.Select(i => (long)i).ToArray(), device: next.device));
                var kept = keep.Select(i => _rows[i]).ToList();
                _rows.Clear();
                _rows.AddRange(kept);
            }
            foreach (var state in finished) Finish(state, e: null);
            if (_rows.Count == 0)
            {
                EndBatch();
                return;
            }
            var logits = _engine!.Decode(_rows.Select(r => r.Slot).ToList(), next).MoveToOuterDisposeScope();
            Interlocked.Increment(ref _steps);
            _logits!.Dispose();
            _logits = logits;
        }
        catch (Exception e)
        {
            // A failure mid-step leaves the batch in an unknown state: every running request gets the error.
            foreach (var state in _rows.Select(r => r.Owner).Distinct().ToList()) Finish(state, e);
            EndBatch();
        }
    }

    /// <summary>Does the tail of the row's text contain one of its request's stop strings? Only the newest tokens can complete one.</summary>
    bool HitsStopString(Decoding state, List<int> tokens)
    {
        if (state.StopTailTokens == 0) return false;
        int take = Math.Min(state.StopTailTokens, tokens.Count);
        var tail = _models.Tokenizer.Decode(tokens.Skip(tokens.Count - take), skipSpecialTokens: false);
        return state.Options.StopStrings.Any(s => tail.Contains(s, StringComparison.Ordinal));
    }

    /// <summary>
    /// Answers a request: its completions when every row finished, cancelled when its client went or the server
    /// stops, or <paramref name="e"/>. Its rows still in the batch are released.
    /// </summary>
    void Finish(Decoding state, Exception? e)
    {
        var job = state.Job;
        foreach (var row in state.Rows.Where(r => r.Held))
        {
            ReleaseRow(row);
            _rows.Remove(row);
        }
        if (e is not null) job.Result.TrySetException(e);
        else if (state.Unfinished > 0 || job.CancellationToken.IsCancellationRequested) job.Result.TrySetCanceled();
        else
        {
            int n = job.Request.N;
            Interlocked.Increment(ref _completed);
            job.Result.TrySetResult(state.Rows.Select(r => new Completion(r.Index / n, r.Index % n, r.Tokens.ToArray(),
                _models.Tokenizer.Decode(r.Tokens, skipSpecialTokens: true), r.LogProbs.ToArray(), r.Reason)).ToList());
        }
        state.Unfinished = 0;
        job.Departure.Dispose();
        state.Dispose();
    }

    void ReleaseRow(Row row)
    {
        _engine!.Release(row.Slot);
        row.Held = false;
    }

    /// <summary>Ends the running batch: its logits freed and the model's adapter scope closed.</summary>
    void EndBatch()
    {
        _logits?.Dispose();
        _logits = null;
        _activation?.Dispose();
        _activation = null;
        _model = null;
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

    /// <summary>Stops the loop at its next step (requests decoding are cancelled) and refuses what is still queued with 503.</summary>
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
