namespace EventMlOps.Cli;

/// <summary>An expected failure the user can act on: printed as <c>error: message</c>, never as a stack trace.
/// Exit code 2 marks a usage problem (bad input, missing token), 1 anything else.</summary>
public sealed class CliError(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static CliError Usage(string message) => new(message, 2);
}
