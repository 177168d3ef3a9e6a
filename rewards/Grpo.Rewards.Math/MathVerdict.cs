namespace Grpo.Rewards.Math;

/// <summary>The outcome of one check, with the answers the verifier read from each side.</summary>
/// <param name="Equivalent">True when the predicted answer means the same as the gold one.</param>
/// <param name="GoldParsed">False when no answer could be read from the gold text: the check is "not applicable".</param>
/// <param name="GoldAnswer">The answer taken from the gold text, or null.</param>
/// <param name="PredictedAnswer">The answer taken from the prediction, or null when it has none.</param>
public sealed record MathVerdict(bool Equivalent, bool GoldParsed, string? GoldAnswer, string? PredictedAnswer);
