namespace Grpo.Sampling;

/// <summary>Why a completion ended.</summary>
public enum FinishReason
{
    /// <summary>It produced an end-of-sequence token (the last token id).</summary>
    Eos,
    /// <summary>Its text came to contain one of the stop strings.</summary>
    StopString,
    /// <summary>It reached the token limit: the completion is truncated.</summary>
    Length,
}

/// <summary>
/// One sampled completion of a prompt. <see cref="LogProbs"/>[i] is log p(TokenIds[i]) under the
/// temperature-scaled distribution before top-k/top-p/min-p filtering: the "old" log-probs GRPO's ratio needs.
/// </summary>
/// <param name="PromptIndex">Index of the prompt in the call's list.</param>
/// <param name="SampleIndex">Index within the prompt's group, 0 .. G-1.</param>
/// <param name="TokenIds">The generated ids, including the EOS token when one ended it.</param>
/// <param name="Text">The ids decoded with special tokens skipped.</param>
/// <param name="LogProbs">Per-token log-probs, one per id.</param>
/// <param name="FinishReason">Why it ended.</param>
public sealed record Completion(int PromptIndex, int SampleIndex, int[] TokenIds, string Text, float[] LogProbs, FinishReason FinishReason)
{
    /// <summary>True when the completion was cut off by the token limit rather than ending by itself.</summary>
    public bool Truncated => FinishReason == FinishReason.Length;
}
