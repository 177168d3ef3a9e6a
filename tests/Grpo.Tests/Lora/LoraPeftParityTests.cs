using Grpo.Lora;
using Grpo.Modeling;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Grpo.Tests.Lora;

/// <summary>
/// The whole model with a PEFT adapter against PEFT's own logits (tests/Grpo.Tests/Fixtures/hf-reference: a Qwen3
/// checkpoint and two adapters, r 4, alpha 8, with and without rsLoRA, run by transformers 5.17.0 and PEFT 0.21.0).
/// Compiled only where the real model (CausalLM) is in the tree.
/// </summary>
public class LoraPeftParityTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf-reference", name);

    [Theory]
    [InlineData("qwen3-qknorm-tied-lora")]
    [InlineData("qwen3-qknorm-tied-rslora")]
    public void LogitsMatchPeftWithTheAdapterOnOffAndMerged(string adapter)
    {
        using var model = Checkpoint.Load(Fixture("qwen3-qknorm-tied"));
        model.eval();
        // The fixture was made under /tmp/hf; the checkpoint is the same one at another path, so skip the name check.
        var lora = LoraModel.Load(model, Fixture(adapter), baseModelNameOrPath: null);
        var reference = Safetensors.LoadStateDict(Path.Combine(Fixture(adapter), "reference.safetensors"));
        var ids = reference["input_ids"];
        var mask = reference["attention_mask"];
        using var real = mask.to(ScalarType.Bool).unsqueeze(-1);  // [2, 12, 1]: HF's logits at left-padding positions are not meaningful

        void AssertLogits(string expectedKey, string state)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var logits = model.Logits(model.HiddenStates(ids, mask));
            var diff = (logits - reference[expectedKey]).abs().masked_fill(real.logical_not(), 0).max().item<float>();
            Assert.True(diff < 1e-4, $"{adapter}, {state}: logits differ from PEFT's by up to {diff}");
        }

        AssertLogits("logits", "adapter on");
        using (lora.Disabled()) AssertLogits("base_logits", "adapter disabled");
        lora.Merge();
        AssertLogits("logits", "adapter merged");
        lora.Unmerge();
        using (lora.Disabled()) AssertLogits("base_logits", "after unmerge, disabled");
    }
}
