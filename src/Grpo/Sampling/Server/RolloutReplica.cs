using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Grpo.Sampling.Server;

/// <summary>The server could not be asked: it refused the connection, stopped answering, timed out, or failed inside (5xx on a completion).</summary>
internal sealed class ReplicaUnavailableException(string reason, Exception? inner = null) : Exception(reason, inner);

/// <summary>
/// One rollout server: JSON over HTTP with its bearer key, a bound on requests in flight, a per-request timeout, and
/// the line between a server that cannot be reached (<see cref="ReplicaUnavailableException"/>: drop it, ask another)
/// and one that answers with an error (returned to the caller, who decides whether that stops the run).
/// </summary>
internal sealed class RolloutReplica : IDisposable
{
    private readonly HttpClient _http;
    private readonly TimeSpan _timeout;
    private readonly SemaphoreSlim _slots;

    public RolloutReplica(Uri server, HttpClient http, RolloutServerOptions options)
    {
        Url = RolloutServerOptions.Normalize(server);
        (_http, _timeout) = (http, options.RequestTimeout);
        _slots = new SemaphoreSlim(options.MaxConcurrentRequests);
        ApiKey = options.ApiKey;
    }

    /// <summary>The server's root URL.</summary>
    public Uri Url { get; }

    private string? ApiKey { get; }

    /// <summary>Whether it is still used; a dropped server is never asked again in this run.</summary>
    public bool Alive { get; private set; } = true;

    /// <summary>Why it was dropped, for the message when none is left.</summary>
    public string? DropReason { get; private set; }

    /// <summary>Marks it dropped; true for the call that dropped it (so the warning is given once).</summary>
    public bool Drop(string reason)
    {
        lock (_slots)
        {
            if (!Alive) return false;
            (Alive, DropReason) = (false, reason);
            return true;
        }
    }

    /// <summary>POSTs <paramref name="body"/> to <paramref name="path"/> and returns the status and body of any answer.</summary>
    /// <exception cref="ReplicaUnavailableException">No answer: connection refused or lost, or past the timeout.</exception>
    public Task<(HttpStatusCode Status, string Body)> PostAsync(string path, JsonNode body, CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Post, new Uri(Url, path))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        }, cancellationToken);

    /// <summary>GETs <paramref name="path"/>; as <see cref="PostAsync"/>.</summary>
    public Task<(HttpStatusCode Status, string Body)> GetAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(Url, path)), cancellationToken);

    private async Task<(HttpStatusCode, string)> SendAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var request = create();
            if (ApiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ReplicaUnavailableException($"no answer within {_timeout.TotalSeconds:0.#} s", e);
        }
        catch (HttpRequestException e)
        {
            throw new ReplicaUnavailableException(e.InnerException?.Message ?? e.Message, e);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// The message of an error answer on one line: OpenAI's <c>{"error": {"message"}}</c>, vLLM's older
    /// <c>{"message"}</c>, or the start of the raw body.
    /// </summary>
    public static string ErrorMessage(HttpStatusCode status, string body)
    {
        string? message = null;
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var inner))
                    message = inner.ToString();
                else if (root.TryGetProperty("message", out var plain))
                    message = plain.ToString();
            }
        }
        catch (JsonException)
        {
            // Not JSON: the raw text below says what the server said.
        }
        message ??= body.Length > 300 ? body[..300] + "..." : body;
        return $"HTTP {(int)status} {status}: {string.Join(' ', message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))}";
    }

    public void Dispose() => _slots.Dispose();
}
