using Grpo.Modeling;
using Grpo.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Grpo.Tests.Modeling;

public class ComputeDtypeTests
{
    static readonly CpuInfo Avx2Only = CpuInfo.Parse("processor\t: 0\nphysical id\t: 0\ncore id\t\t: 0\nflags\t\t: fpu sse2 avx2 fma\n", 1);
    static readonly CpuInfo SapphireRapids = CpuInfo.Parse("processor\t: 0\nphysical id\t: 0\ncore id\t\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n", 1);

    [Theory]
    [InlineData("auto", null)]
    [InlineData("bfloat16", ScalarType.BFloat16)]
    [InlineData("BF16", ScalarType.BFloat16)]
    [InlineData("float32", ScalarType.Float32)]
    [InlineData("fp32", ScalarType.Float32)]
    [InlineData("float16", ScalarType.Float16)]
    [InlineData(" fp16 ", ScalarType.Float16)]
    public void NamesParseToDtypesAndAutoToNull(string name, ScalarType? dtype) => Assert.Equal(dtype, ComputeDtype.Parse(name));

    [Fact]
    public void AnotherNameIsRefusedListingTheAcceptedOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => ComputeDtype.Parse("int8"));
        Assert.Equal("Dtype 'int8' is not one of auto, bfloat16, float32, float16.", e.Message);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, ScalarType.Float32)]   // emulated through float32 on AVX2: slower than float32
    [InlineData(ScalarType.Float16, ScalarType.Float32)]
    [InlineData(ScalarType.Float32, ScalarType.Float32)]
    public void ACpuWithoutNativeBFloat16LoadsFloat32(ScalarType saved, ScalarType loaded) =>
        Assert.Equal(loaded, ComputeDtype.Default(saved, CPU, Avx2Only));

    [Theory]
    [InlineData(ScalarType.BFloat16, ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16, ScalarType.Float32)]
    [InlineData(ScalarType.Float32, ScalarType.Float32)]
    public void ACpuWithNativeBFloat16KeepsABFloat16Checkpoint(ScalarType saved, ScalarType loaded) =>
        Assert.Equal(loaded, ComputeDtype.Default(saved, CPU, SapphireRapids));

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.Float32)]
    public void CudaKeepsTheCheckpointsDtype(ScalarType saved) =>
        Assert.Equal(saved, ComputeDtype.Default(saved, new Device(DeviceType.CUDA, 0), Avx2Only));

    [Fact]
    public void CheckpointLoadFollowsTorchDtypeOnlyWhereThisCpuHasNativeBFloat16()
    {
        var folder = TestModels.TempFolder();
        using (var saved = Grpo.Modeling.CausalLM.Create(ModelConfig.Tiny("qwen3"), 3, dtype: ScalarType.BFloat16))
            Checkpoint.Save(saved, folder);
        using var loaded = Checkpoint.Load(folder);
        // Read from the CPU's flags here, not from ComputeDtype, which is under test.
        var expected = CpuInfo.Current.Flags.Overlaps(["avx512_bf16", "amx_bf16"]) ? ScalarType.BFloat16 : ScalarType.Float32;
        Assert.Equal(expected, loaded.Dtype);
        Assert.All(loaded.parameters(), p => Assert.Equal(expected, p.dtype));
        Directory.Delete(folder, recursive: true);
    }
}
