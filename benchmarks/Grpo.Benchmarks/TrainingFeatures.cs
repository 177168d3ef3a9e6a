using System.Reflection;
using Grpo.Training;

namespace Grpo.Benchmarks;

/// <summary>
/// The one place where the benchmark switches training features that are being added to the library beside it:
/// activation checkpointing per decoder layer (<c>GrpoOptions.GradientCheckpointing</c>, TRL / Transformers'
/// <c>gradient_checkpointing</c>) and token-budget micro-batches (<c>GrpoOptions.MaxTokensPerMicroBatch</c>).
/// They are set by name, so this harness builds against a library that does not have them yet and its rows say
/// "not in this build" instead of measuring; once they are merged, each method here becomes <c>options with { … }</c>.
/// </summary>
internal static class TrainingFeatures
{
    private const string Checkpointing = "GradientCheckpointing";
    private const string MicroBatchTokens = "MaxTokensPerMicroBatch";

    /// <summary>Whether the library built with this benchmark has <c>GrpoOptions.GradientCheckpointing</c>.</summary>
    public static bool HasGradientCheckpointing => Property(Checkpointing) is not null;

    /// <summary>Whether the library built with this benchmark has <c>GrpoOptions.MaxTokensPerMicroBatch</c>.</summary>
    public static bool HasMaxTokensPerMicroBatch => Property(MicroBatchTokens) is not null;

    /// <summary>A copy of <paramref name="options"/> with activation checkpointing on or off.</summary>
    public static GrpoOptions WithGradientCheckpointing(GrpoOptions options, bool on) => With(options, Checkpointing, on);

    /// <summary>A copy of <paramref name="options"/> whose policy pass runs in micro-batches of at most <paramref name="tokens"/> tokens.</summary>
    public static GrpoOptions WithMaxTokensPerMicroBatch(GrpoOptions options, int tokens) => With(options, MicroBatchTokens, tokens);

    private static PropertyInfo? Property(string name) => typeof(GrpoOptions).GetProperty(name, BindingFlags.Public | BindingFlags.Instance);

    private static GrpoOptions With(GrpoOptions options, string name, object value)
    {
        var property = Property(name)
                       ?? throw new InvalidOperationException($"This build's GrpoOptions has no {name}; merge the branch that adds it, or leave its benchmark option off.");
        var copy = options with { };
        property.SetValue(copy, value);   // an init-only setter is an ordinary setter to reflection
        return copy;
    }
}
