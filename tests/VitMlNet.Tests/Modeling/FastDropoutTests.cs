using TorchSharp;
using VitMlNet.Modeling;
using static TorchSharp.torch;

namespace VitMlNet.Tests.Modeling;

public class FastDropoutTests
{
    [Fact]
    public void DropsTheRequestedFractionAndKeepsTheMean()
    {
        using var scope = torch.NewDisposeScope();
        using var dropout = new FastDropout(0.1);
        dropout.train();
        var y = dropout.forward(torch.ones(1_000_003));
        double kept = y.ne(0).to(ScalarType.Float64).mean().item<double>();
        Assert.InRange(kept, 0.898, 0.902);
        Assert.InRange(y.to(ScalarType.Float64).mean().item<double>(), 0.997, 1.003);
        var values = y.unique().Item1.data<float>().ToArray();
        Assert.Equal(2, values.Length);
        Assert.Equal(0f, values[0]);
        Assert.Equal(1 / 0.9f, values[1], 4);
    }

    [Fact]
    public void EvalModeIsTheIdentityAndGradientsFlowThroughKeptElements()
    {
        using var scope = torch.NewDisposeScope();
        using var dropout = new FastDropout(0.5);
        var x = torch.randn(64, 33, requires_grad: true);
        dropout.eval();
        Assert.True(dropout.forward(x).equal(x).all().item<bool>());
        dropout.train();
        var y = dropout.forward(x);
        y.sum().backward();
        Assert.True(x.grad!.eq(0).logical_or(x.grad!.eq(2)).all().item<bool>());
        Assert.True(x.grad!.eq(0).eq(y.eq(0)).all().item<bool>());
    }

    [Fact]
    public void SeedMakesMasksReproducibleAndSuccessiveMasksDiffer()
    {
        using var scope = torch.NewDisposeScope();
        DropoutRandom.Seed(11);
        var a1 = DropoutRandom.Mask(new long[] { 3, 70_001 }, 0.2, torch.CPU);
        var a2 = DropoutRandom.Mask(new long[] { 3, 70_001 }, 0.2, torch.CPU);
        DropoutRandom.Seed(11);
        var b1 = DropoutRandom.Mask(new long[] { 3, 70_001 }, 0.2, torch.CPU);
        Assert.True(a1.equal(b1).all().item<bool>());
        double agreement = a1.eq(a2).to(ScalarType.Float64).mean().item<double>();
        Assert.InRange(agreement, 0.66, 0.70); // independent masks agree with probability 0.8² + 0.2²
    }

    [Theory]
    [InlineData(1, 0.1)]
    [InlineData(17, 0.5)]
    [InlineData(65_536, 0.1)]
    [InlineData(100_003, 0.25)]
    public void VectorizedMaskFillEqualsTheScalarDefinition(int length, double p)
    {
        Assert.True(System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated, "this machine's CPU has AVX2; the vectorized path must run");
        uint threshold = (uint)Math.Round(p * 65536);
        int keepBits = BitConverter.SingleToInt32Bits((float)(1.0 / (1.0 - threshold / 65536.0)));
        var scalar = new float[length];
        var vector = new float[length];
        DropoutRandom.Fill(scalar, 0xC0FFEE, threshold, keepBits, vectorized: false);
        DropoutRandom.Fill(vector, 0xC0FFEE, threshold, keepBits, vectorized: true);
        Assert.Equal(scalar, vector);
        if (length > 1000) Assert.InRange(scalar.Count(v => v == 0) / (double)length, p - 0.01, p + 0.01);
    }
}
