using System.Diagnostics;
using EventMlOps.Contracts;
using EventMlOps.Hosting;
using JasperFx.CodeGeneration;
using Microsoft.Extensions.Configuration;

namespace EventMlOps.ControlPlane.Tests.Api;

/// <summary>Release images run Wolverine's handlers from code generated ahead of time (<c>codegen write</c>, then
/// <c>CodeGeneration:Mode=Static</c>): the built hosts write a handler for everything they handle, without a database.</summary>
public sealed class CodeGenerationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Given_the_built_hosts_When_their_code_is_written_ahead_of_time_Then_every_command_and_work_order_has_its_handler()
    {
        var commands = typeof(ICommand).Assembly.GetTypes().Concat(typeof(ControlPlane.Mlflow.MlflowApi).Assembly.GetTypes())
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICommand).IsAssignableFrom(t)).Select(t => t.Name);
        commands.Except(await WrittenHandlersAsync("ControlPlane", "EventMlOps.ControlPlane.dll")).ShouldBeEmpty("commands without generated handler code");
        typeof(IWorkOrder).Assembly.GetTypes().Where(t => t.IsClass && typeof(IWorkOrder).IsAssignableFrom(t)).Select(t => t.Name)
            .Except(await WrittenHandlersAsync("Agents", "emo-agents.dll")).ShouldBeEmpty("work orders without generated handler code");
    }

    [Theory]
    [InlineData(null, TypeLoadMode.Dynamic)]
    [InlineData("static", TypeLoadMode.Static)]
    [InlineData("Auto", TypeLoadMode.Auto)]
    public void Given_a_mode_setting_When_read_Then_it_names_the_mode(string? setting, TypeLoadMode mode) =>
        CodeGeneration.Mode(Settings(setting)).ShouldBe(mode);

    [Fact]
    public void Given_an_unknown_mode_When_read_Then_the_error_says_what_is_accepted_without_echoing_it_whole() =>
        Should.Throw<InvalidOperationException>(() => CodeGeneration.Mode(Settings(new string('x', 500)))).Message.Length.ShouldBeLessThan(120);

    private static IConfiguration Settings(string? mode) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["CodeGeneration:Mode"] = mode }).Build();

    /// <summary>Runs <c>dotnet &lt;host&gt; codegen write</c> in a fresh folder (a connection string that leads nowhere: nothing
    /// connects) and answers the message types it wrote handlers for.</summary>
    private static async Task<IReadOnlyList<string>> WrittenHandlersAsync(string project, string dll)
    {
        var folder = Directory.CreateTempSubdirectory("emo-codegen-").FullName;
        try
        {
            var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])[TestHost.Built(project, dll), "codegen", "write"])
                start.ArgumentList.Add(arg);
            start.Environment["EMO_POSTGRES"] = "Host=127.0.0.1;Port=1;Username=nobody;Database=none;Timeout=1";
            start.Environment["Agents__Token"] = "not-used-for-code-generation";
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync(Ct);
            var errors = process.StandardError.ReadToEndAsync(Ct);
            await process.WaitForExitAsync(Ct);
            process.ExitCode.ShouldBe(0, await output + await errors);
            return [.. Directory.GetFiles(Path.Combine(folder, "Internal", "Generated", "WolverineHandlers"), "*Handler*.cs")
                .Select(f => Path.GetFileNameWithoutExtension(f))
                .Select(name => name[..name.LastIndexOf("Handler", StringComparison.Ordinal)])];
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
