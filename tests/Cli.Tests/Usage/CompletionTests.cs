using System.Diagnostics;

namespace EventMlOps.Cli.Tests.Usage;

/// <summary><c>emo completion bash</c> sourced into a real bash: its completion function, called as bash calls it on Tab,
/// asks the real CLI (a process) and offers the verbs, options and choices that fit what is typed.</summary>
public sealed class CompletionTests
{
    [Theory]
    [InlineData("trai", "train")]
    [InlineData("endpoints ro", "rollback rollout")]
    [InlineData("train anomaly --ep", "--epochs")]
    [InlineData("train ", "anomaly recommender")] // options only once a '-' is typed
    [InlineData("runs show x --fo", "--follow")]
    [InlineData("completion ", "bash")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Given_a_partly_typed_command_line_When_tab_is_pressed_in_bash_Then_the_fitting_words_are_offered(string typed, string offered)
    {
        var folder = Directory.CreateTempSubdirectory("emo-completion-").FullName;
        try
        {
            var emo = Path.Combine(folder, "emo");
            await File.WriteAllTextAsync(emo, $"#!/bin/sh\nexec dotnet '{typeof(EmoCli).Assembly.Location}' \"$@\"\n", TestContext.Current.CancellationToken);
            File.SetUnixFileMode(emo, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var line = $"{emo} {typed}";
            var script = "source <(\"$EMO\" completion bash) && COMP_LINE=\"$LINE\" && COMP_POINT=${#LINE} && read -ra COMP_WORDS <<< \"$LINE\" " +
                         $"&& {(typed.EndsWith(' ') ? "COMP_WORDS+=('') && " : "")}COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)) && _emo_complete && echo \"${{COMPREPLY[*]}}\"";
            var start = new ProcessStartInfo("bash", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
            (start.Environment["EMO"], start.Environment["LINE"]) = (emo, line);
            using var bash = Process.Start(start)!;
            var ct = TestContext.Current.CancellationToken;
            var (stdout, stderr) = (bash.StandardOutput.ReadToEndAsync(ct), bash.StandardError.ReadToEndAsync(ct));
            await bash.WaitForExitAsync(ct);

            bash.ExitCode.ShouldBe(0, await stderr);
            (await stdout).Trim().ShouldBe(offered);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
