namespace Grpo.Sampling.Server;

/// <summary>
/// Rollouts from servers cannot go on: a server answered but refused a request or an adapter (a wrong base model, an
/// adapter rank over its <c>--max-lora-rank</c>, a prompt over its context), or no server is left to ask. The run
/// stops; nothing of the step was applied and the checkpoints on disk are intact.
/// </summary>
public sealed class RolloutServerException : Exception
{
    /// <summary>A failure at <paramref name="server"/> (null when it concerns every server) while preparing step <paramref name="step"/>.</summary>
    public RolloutServerException(Uri? server, int step, string message, Exception? inner = null) : base(message, inner)
        => (Server, Step) = (server, step);

    /// <summary>The server that refused, or null when no server is left.</summary>
    public Uri? Server { get; }

    /// <summary>The training step whose rollouts were being prepared (1-based; the policy had had one step less).</summary>
    public int Step { get; }
}
