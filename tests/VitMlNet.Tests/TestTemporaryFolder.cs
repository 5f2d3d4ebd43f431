using System.Runtime.CompilerServices;
using VitMlNet.IO;

namespace VitMlNet.Tests;

/// <summary>
/// The test process keeps every temporary file (its own folders, ML.NET's copies of model graphs, child processes'
/// folders) in one private folder that is deleted when it exits, as the <c>vit</c> tool does: a test run leaves nothing
/// in the system's temporary folder, and a killed run's folder is deleted by the next one.
/// </summary>
internal static class TestTemporaryFolder
{
#pragma warning disable CA2255 // A test assembly, not a library for others: its module initializer is the process's start.
    [ModuleInitializer]
    internal static void UsePrivateFolder() => PrivateTemp.UseForProcess();
#pragma warning restore CA2255
}
