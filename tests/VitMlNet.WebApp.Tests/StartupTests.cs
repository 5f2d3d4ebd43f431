using System.Diagnostics;

namespace VitMlNet.WebApp.Tests;

/// <summary>Bad options stop the app at start: exit 2 and one line listing every bad field.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task BadOptionsExit2WithOneLineListingEach()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"vit-webapp-missing-{Guid.NewGuid():N}.zip");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "WebApp.dll"), "--model", missing, "--maxUploadBytes", "0", "--urls", "http://127.0.0.1:0" })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 2, $"exit {process.ExitCode}\n{await stdout}\n{stderr}");
        Assert.Equal($"WebApp: error: --model '{missing}' does not exist; --maxUploadBytes must be at least 1 (got 0).", stderr.TrimEnd('\n'));
    }
}
