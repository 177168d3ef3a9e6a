namespace Grpo.Training;

/// <summary>How the learning rate moves after warmup (warmup is always a linear ramp from 0).</summary>
public enum LearningRateSchedule
{
    /// <summary>Stays at the peak learning rate (Transformers <c>"constant_with_warmup"</c>).</summary>
    Constant,

    /// <summary>Falls linearly to 0 at the last step (Transformers <c>"linear"</c>, the TrainingArguments default).</summary>
    Linear,

    /// <summary>Falls along half a cosine to 0 at the last step (Transformers <c>"cosine"</c>).</summary>
    Cosine,
}
