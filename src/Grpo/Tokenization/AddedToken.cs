namespace Grpo.Tokenization;

/// <summary>
/// A token that is matched whole in the raw text before any normalisation or BPE, as Hugging Face's
/// <c>added_tokens</c> entries are (<c>&lt;|im_start|&gt;</c>, <c>&lt;think&gt;</c>).
/// </summary>
/// <param name="Id">The token's id.</param>
/// <param name="Content">The exact text that stands for the token.</param>
/// <param name="Special">True for control tokens, which decoding leaves out when asked to skip special tokens.</param>
/// <param name="LStrip">True when the token swallows the whitespace just before it.</param>
/// <param name="RStrip">True when the token swallows the whitespace just after it.</param>
/// <param name="SingleWord">True when the token only matches where it is not part of a longer word.</param>
public sealed record AddedToken(int Id, string Content, bool Special, bool LStrip = false, bool RStrip = false, bool SingleWord = false);
