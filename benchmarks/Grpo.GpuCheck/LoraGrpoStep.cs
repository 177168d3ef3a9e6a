using Grpo.Lora;
using Grpo.Modeling;
using Grpo.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Grpo.GpuCheck;

/// <summary>
/// The learning half of a GRPO step composed from the library's public pieces, as GrpoTrainer composes it: log-probs
/// of the completion tokens from the final hidden states (<see cref="TokenLogProbs"/>), the reference log-probs with
/// the adapter switched off (no second copy of the weights), the clipped objective (<see cref="GrpoLoss"/>), backward,
/// gradient clipping and AdamW on the LoRA weights. Sampling and rewards are the caller's (<see cref="SpeedRun"/>).
/// </summary>
internal sealed class LoraGrpoStep : IDisposable
{
    private readonly CausalLM _model;
    private readonly LoraModel _lora;
    private readonly GrpoOptions _options;
    private readonly GrpoLoss _loss;
    private readonly IReadOnlyList<Parameter> _trainable;
    private readonly optim.Optimizer _optimizer;

    public LoraGrpoStep(CausalLM model, LoraModel lora, GrpoOptions options)
    {
        _model = model;
        _lora = lora;
        _options = options;
        _loss = new GrpoLoss(GrpoLossSettings.From(options));
        _trainable = lora.TrainableParameters();
        _optimizer = optim.AdamW(_trainable, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
    }

    /// <summary>[B, C] log-probs of the completion tokens under the model as it is (adapter on or off).</summary>
    public Tensor LogProbs(GrpoBatch batch)
    {
        var hidden = _model.HiddenStates(batch.InputIds); // [B, P + C, H]; no padding, so no attention mask
        var predicting = hidden.narrow(1, batch.PromptLength - 1, batch.CompletionLength); // the state before each completion token
        return TokenLogProbs.Compute(predicting, _model.LmHeadWeight, null, batch.Targets, _options.Temperature, _options.LogProbChunkTokens);
    }

    /// <summary>[B, C] log-probs under the reference policy: the same model with its adapter switched off.</summary>
    public Tensor ReferenceLogProbs(GrpoBatch batch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var adapterOff = _lora.Disabled();
        _model.eval();
        return LogProbs(batch).detach().MoveToOuterDisposeScope();
    }

    /// <summary>The loss of <paramref name="batch"/> without a gradient or an update.</summary>
    public double Loss(GrpoBatch batch, Tensor? referenceLogProbs, Tensor? oldLogProbs)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _model.eval();
        return Compute(batch, referenceLogProbs, oldLogProbs).Loss.to(ScalarType.Float64).item<double>();
    }

    /// <summary>
    /// One optimizer step on <paramref name="batch"/> as a single micro-batch: the loss, backward, the gradient norm
    /// before clipping to <see cref="GrpoOptions.MaxGradNorm"/>, AdamW. <paramref name="oldLogProbs"/> null means
    /// μ = 1 (π_old is the policy itself, detached), as in the README example.
    /// </summary>
    public (double Loss, double GradNorm) Update(GrpoBatch batch, Tensor? referenceLogProbs, Tensor? oldLogProbs)
    {
        using var scope = NewDisposeScope();
        _model.train();
        var result = Compute(batch, referenceLogProbs, oldLogProbs);
        var loss = result.Loss.to(ScalarType.Float64).item<double>();
        if (!double.IsFinite(loss))
            throw new InvalidOperationException($"The GRPO loss is {loss}; the model or the batch is broken on this device.");
        result.Loss.backward();
        double gradNorm = nn.utils.clip_grad_norm_(_trainable, _options.MaxGradNorm);
        _optimizer.step();
        _optimizer.zero_grad();
        return (loss, gradNorm);
    }

    private GrpoLossResult Compute(GrpoBatch batch, Tensor? referenceLogProbs, Tensor? oldLogProbs) =>
        _loss.Compute(new GrpoLossInputs
        {
            LogProbs = LogProbs(batch),
            OldLogProbs = oldLogProbs,
            RefLogProbs = referenceLogProbs,
            Advantages = batch.Advantages,
            CompletionMask = batch.CompletionMask,
            // Known on the host: every completion token counts. Saves the loss a device-to-host read.
            ActiveTokensInStep = batch.CompletionMask.shape[0] * batch.CompletionMask.shape[1],
        });

    public void Dispose() => _optimizer.Dispose();
}
