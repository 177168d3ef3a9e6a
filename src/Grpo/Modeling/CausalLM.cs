using Grpo.Tokenization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Grpo.Modeling;

/// <summary>
/// A decoder-only language model (Qwen2, Qwen3, Llama) configured by a <see cref="ModelConfig"/>: the
/// <see cref="DecoderModel"/> body under <c>model.</c> and the <c>lm_head</c> projection, or the embedding matrix
/// reused when <c>tie_word_embeddings</c> is set. Parameter names are Hugging Face's, so a checkpoint's state dict
/// maps one to one (<see cref="Checkpoint"/>). The forward pass stops at the final hidden states so that training
/// can turn them into log-probs chunk by chunk without a [batch x length x vocab] float32 tensor.
/// On the CPU in float32 the widening weights are column-major views (<see cref="WeightLayout"/>): save with
/// <see cref="Checkpoint.Save"/>, or take <c>contiguous()</c> copies of <c>state_dict()</c> before writing it with a
/// tool that needs contiguous tensors (TorchSharp's <c>save</c>, PyBridge).
/// </summary>
public sealed class CausalLM : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006
    private readonly DecoderModel model;
    private readonly Linear? lm_head;
#pragma warning restore IDE1006

    /// <summary>A model with uninitialised weights; <see cref="Create"/> and <see cref="Checkpoint.Load"/> fill them.</summary>
    internal CausalLM(ModelConfig config, Device device, ScalarType dtype) : base(nameof(CausalLM))
    {
        config.Validate();
        // float64 serves gradient checks against finite differences.
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
            throw new ArgumentException($"Model weights must be float32, bfloat16, float16 or float64, not {dtype}.", nameof(dtype));
        Config = config;
        Device = device;
        Dtype = dtype;
        model = new DecoderModel(config, dtype, device);
        if (!config.TieWordEmbeddings)
            lm_head = new Linear(config.HiddenSize, config.VocabSize, hasBias: false, dtype, device);
        RegisterComponents();
        LayOut();
    }

    /// <summary>
    /// Puts every projection's weight in the layout of its dtype and device (<see cref="WeightLayout"/>), and a tied
    /// embedding too, which as the LM head is the widest product of a decode step.
    /// </summary>
    private void LayOut()
    {
        foreach (var (_, module) in named_modules())
            if (module is Linear projection) WeightLayout.Apply(projection.Weight);
        if (lm_head is null) WeightLayout.Apply(model.EmbeddingWeight);
    }

    /// <summary>Moves the model as TorchSharp does, then lays its weights out for their new dtype and device.</summary>
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => Relaid(base._to(device, dtype, non_blocking));

    /// <inheritdoc cref="_to(Device, ScalarType, bool)"/>
    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking) => Relaid(base._to(deviceType, deviceIndex, non_blocking));

    /// <inheritdoc cref="_to(Device, ScalarType, bool)"/>
    protected override nn.Module _to(ScalarType dtype, bool non_blocking) => Relaid(base._to(dtype, non_blocking));

    private nn.Module Relaid(nn.Module moved)
    {
        LayOut();
        return moved;
    }

    /// <summary>The architecture.</summary>
    public ModelConfig Config { get; }

    /// <summary>generation_config.json of the checkpoint (EOS ids), or an empty one for a model made in process.</summary>
    public GenerationConfig GenerationConfig { get; internal set; } = new();

    /// <summary>Where the weights live.</summary>
    public Device Device { get; }

    /// <summary>The weights' dtype (float32 or bfloat16, float16).</summary>
    public ScalarType Dtype { get; }

    /// <summary>The ids that end a completion: generation_config.json's, else config.json's.</summary>
    public IReadOnlyList<int> EosTokenIds => GenerationConfig.EosTokenIds.Count > 0 ? GenerationConfig.EosTokenIds : Config.EosTokenIds;

    /// <summary>The LM head matrix [vocab, hidden]: lm_head.weight, or the embedding when tied.</summary>
    public Parameter LmHeadWeight => lm_head?.Weight ?? model.EmbeddingWeight;

    /// <summary>Number of weights (tied matrices counted once).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// A model with random weights as transformers initialises them (linear and embedding weights from N(0, 0.02²),
    /// biases 0, norms 1), drawn from a generator seeded with <paramref name="seed"/>: same seed, same weights.
    /// </summary>
    public static CausalLM Create(ModelConfig config, long seed, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        device ??= CPU;
        var lm = new CausalLM(config, device, dtype);
        using var generator = new Generator((ulong)seed, device);
        using var noGrad = no_grad();
        foreach (var (name, p) in lm.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(1);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else if (p.is_contiguous()) p.normal_(0, 0.02, generator);
            else
            {
                // Drawn in [out, in] order whatever the layout (WeightLayout), so a seed gives the same weights on every device and dtype.
                using var drawn = empty(p.shape, p.dtype, p.device).normal_(0, 0.02, generator);
                p.copy_(drawn);
            }
        }
        return lm;
    }

    /// <summary>
    /// Final hidden states [B, T, hidden] for input ids [B, T] (int64).
    /// <paramref name="attentionMask"/> [B, past + T], 1 = token, 0 = padding (left padding for generation; it
    /// must cover the cached positions too). <paramref name="positionIds"/> [B, T] default to the number of real
    /// tokens before each position. With a <paramref name="cache"/>, row b's keys/values are appended to its slot b
    /// (slots 0 .. B-1 must hold equally many positions; <see cref="Sampling.DecodeEngine"/> drives slots one by one).
    /// </summary>
    public Tensor HiddenStates(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KvCache? cache = null)
    {
        if (inputIds.dim() != 2)
            throw new ArgumentException($"Input ids must be [batch, length], got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        return model.Forward(inputIds, attentionMask, positionIds, cache);
    }

    /// <summary>
    /// Final hidden states [n, width, hidden] for input ids [n, width], row i appending its first counts[i] tokens to
    /// <paramref name="cache"/> slot slots[i] at that slot's own positions (the rest is right padding, never stored).
    /// The entry point of <see cref="Sampling.DecodeEngine"/>.
    /// </summary>
    internal Tensor HiddenStates(Tensor inputIds, KvCache cache, IReadOnlyList<int> slots, IReadOnlyList<int> counts) =>
        model.Forward(inputIds, cache, slots, counts);

    /// <summary>Logits [..., vocab] in the model's dtype for hidden states [..., hidden].</summary>
    public Tensor Logits(Tensor hiddenStates) =>
        lm_head?.forward(hiddenStates) ?? nn.functional.linear(hiddenStates, model.EmbeddingWeight);

    /// <summary>Logits [B, T, vocab] for input ids [B, T] without padding; use <see cref="HiddenStates"/> for more control.</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var hidden = HiddenStates(inputIds);
        return Logits(hidden);
    }

    /// <summary>A KV cache sized for this model: <paramref name="slots"/> sequences of up to <paramref name="capacity"/> positions each.</summary>
    public KvCache NewCache(long slots, long capacity) => new(Config, slots, capacity, Dtype, Device);

    /// <summary>Throws when the tokenizer can produce ids the embedding has no row for.</summary>
    public void EnsureFits(ITokenizer tokenizer)
    {
        if (tokenizer.VocabSize > Config.VocabSize)
            throw new InvalidDataException(
                $"The tokenizer has {tokenizer.VocabSize} tokens but the model's embedding has {Config.VocabSize} rows (vocab_size in config.json); " +
                "ids past the last row cannot be embedded. Use the tokenizer that belongs to this checkpoint.");
    }
}
