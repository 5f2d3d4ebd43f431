using TorchSharp;
using VitMlNet.Modeling;
using VitMlNet.Training;

namespace VitMlNet.Tests.Training;

public class ModelEmaTests
{
    [Fact]
    public void TheAverageIsDebiasedAndHoldsNothingOfTheInitialWeights()
    {
        const double decay = 0.9;
        torch.manual_seed(1);
        using var source = new VisionTransformer(ViTConfig.Tiny);
        using var ema = new ModelEma(source, decay);
        var values = new[] { 2.0, -1.0, 5.0 };
        foreach (double v in values)
        {
            using (torch.no_grad())
                foreach (var (_, p) in source.named_parameters()) p.fill_(v);
            ema.Update();
        }

        // Exponentially weighted mean of the weights seen, newest weighted 1, the one before 0.9, then 0.81.
        double expected = (values[2] + decay * values[1] + decay * decay * values[0]) / (1 + decay + decay * decay);
        Assert.Equal(3, ema.Updates);
        foreach (var (name, p) in ema.Model.named_parameters())
        {
            var range = (p.min().item<float>(), p.max().item<float>());
            Assert.True(Math.Abs(range.Item1 - expected) < 1e-5 && Math.Abs(range.Item2 - expected) < 1e-5,
                $"{name}: {range} instead of {expected}");
        }
    }

    [Fact]
    public void AfterOneUpdateTheAverageIsTheSourceExactly()
    {
        torch.manual_seed(2);
        using var source = new VisionTransformer(ViTConfig.Tiny);
        using var ema = new ModelEma(source, 0.999);
        using (torch.no_grad())
            foreach (var (_, p) in source.named_parameters()) p.add_(torch.randn_like(p));
        ema.Update();
        var averaged = ema.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in source.named_parameters())
            Assert.True(averaged[name].allclose(p, rtol: 0, atol: 0), name);
    }
}
