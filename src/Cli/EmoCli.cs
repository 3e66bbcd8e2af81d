using System.CommandLine;
using System.CommandLine.Parsing;
using EventMlOps.Cli.Audit;
using EventMlOps.Cli.Auth;
using EventMlOps.Cli.Bus;
using EventMlOps.Cli.Datasets;
using EventMlOps.Cli.Demo;
using EventMlOps.Cli.Drift;
using EventMlOps.Cli.Endpoints;
using EventMlOps.Cli.Hosting;
using EventMlOps.Cli.Lineage;
using EventMlOps.Cli.Registry;
using EventMlOps.Cli.Training;

namespace EventMlOps.Cli;

/// <summary>The <c>emo</c> command line. Exit codes: 0 done; 1 failed (server error, unreachable, timeout);
/// 2 usage error, bad input or a refusal by the control plane (HTTP 4xx).</summary>
public static class EmoCli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("emo — EventMlOps: the model lifecycle as events (datasets → runs → versions → endpoints)")
        {
            UpCommand.Create(), DownCommand.Create(), StatusCommand.Create(), TokenCommand.Create(), KeysCommand.Create(),
            DatasetsCommand.Create(), TrainCommand.Create(), ScoreCommand.Create(), RunsCommand.Create(), ModelsCommand.Create(), VersionsCommand.Create(),
            EndpointsCommand.Create(), DriftCommand.Create(), LineageCommand.Create(), ImpactCommand.Create(), AuditCommand.Create(), EventsCommand.Create(),
            PublishCommand.Create(), Streams.StreamCommand.Create(), Alarms.AlarmsCommand.Create(), DemoCommand.Create(), Kube.KubeCommand.Create(), Environments.EnvCommand.Create(),
            History.ProjectionsCommand.Create(), CompletionCommand.Create(),
        };
        GlobalOptions.AddTo(root);
        return root;
    }

    /// <summary>Runs one invocation with the given writers (the process's console, or a test's buffers).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct = default)
    {
        var root = Build();
        var parse = root.Parse(args);
        // Our own error handling and exit codes; no SIGINT/SIGTERM handler, so `up --foreground` keeps the host's graceful stop.
        // -o yaml: what verbs write as JSON is converted document by document; the rest is flushed as written at the end.
        using var yaml = parse.Errors.Count == 0 && parse.GetValue<string?>(GlobalOptions.Output) == "yaml" ? new YamlOutput(stdout) : null;
        var invocation = new InvocationConfiguration
        {
            Output = (TextWriter?)yaml ?? stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
        };
        if (parse.Errors.Count > 0)
        {
            // One line on what is wrong (with the likeliest meant name), one on where the usage is: not the whole help.
            var verbs = string.Join("", parse.Tokens.Where(t => t.Type == TokenType.Command).Select(t => " " + t.Value));
            stderr.WriteLine($"error: {ParseProblem.Describe(parse, verbs)}");
            stderr.WriteLine($"see 'emo{verbs} --help'");
            return 2;
        }
        try
        {
            return await parse.InvokeAsync(invocation, ct);
        }
        catch (ApiProblem p)
        {
            stderr.WriteLine($"error: {p.Title}: {p.Detail}");
            return p.Status is >= 400 and < 500 ? 2 : 1;
        }
        catch (CliError e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            stderr.WriteLine("interrupted");
            return 130;
        }
        finally
        {
            yaml?.Flush();
        }
    }
}
